package githubfake_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github/githubfake"
)

func TestSuppressNextDeliveries(t *testing.T) {
	e := start(t)
	e.fake.SuppressNextDeliveries(2)

	number := e.createIssue(t, "- [ ] approve")                               // suppressed
	require.NoError(t, e.fake.UserEditBody("alice", number, "- [x] approve")) // suppressed
	require.NoError(t, e.fake.UserEditBody("alice", number, "- [x] approve!"))
	e.waitIdle(t)

	recorded := e.fake.Deliveries()
	require.Len(t, recorded, 3)
	for i, d := range recorded[:2] {
		assert.Equal(t, 0, d.Status, "delivery %d", i)
		assert.Equal(t, githubfake.SuppressedError, d.Error, "delivery %d", i)
		assert.NotEmpty(t, d.Body, "delivery %d keeps its body", i)
	}
	assert.Equal(t, "opened", recorded[0].Action)
	assert.Equal(t, http.StatusAccepted, recorded[2].Status)
	assert.Empty(t, recorded[2].Error)
	got := e.receiver.deliveries()
	require.Len(t, got, 1, "only the third delivery is sent")
	assert.Equal(t, recorded[2].ID, got[0].header.Get("X-GitHub-Delivery"))
}

func TestSuppressedDeliveryCanBeRedelivered(t *testing.T) {
	e := start(t)
	e.fake.SuppressNextDeliveries(1)
	e.createIssue(t, "body")
	lost := e.fake.Deliveries()[0]

	require.NoError(t, e.fake.Redeliver(lost.ID))
	e.waitIdle(t)

	got := e.receiver.deliveries()
	require.Len(t, got, 1)
	assert.Equal(t, lost.ID, got[0].header.Get("X-GitHub-Delivery"))
	assert.Equal(t, lost.Body, got[0].body)
	assert.NoError(t, got[0].sigError)
}

func TestSuppressNextDeliveriesCountsRedeliveries(t *testing.T) {
	e := start(t)
	e.createIssue(t, "body")
	e.waitIdle(t)
	e.fake.SuppressNextDeliveries(1)

	require.NoError(t, e.fake.Redeliver(e.fake.Deliveries()[0].ID))
	e.waitIdle(t)

	recorded := e.fake.Deliveries()
	require.Len(t, recorded, 2)
	assert.True(t, recorded[1].Redelivery)
	assert.Equal(t, githubfake.SuppressedError, recorded[1].Error)
	assert.Len(t, e.receiver.deliveries(), 1)
}

func TestSuppressNextDeliveriesZeroEndsSuppression(t *testing.T) {
	for _, n := range []int{0, -1} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			e := start(t)
			e.fake.SuppressNextDeliveries(5)
			e.fake.SuppressNextDeliveries(n)

			e.createIssue(t, "body")
			e.waitIdle(t)

			assert.Len(t, e.receiver.deliveries(), 1)
			assert.Empty(t, e.fake.Deliveries()[0].Error)
		})
	}
}

// TestSuppressLeavesQueuedDeliveries checks that a delivery queued before
// the call, here waiting for a webhook URL, is still sent.
func TestSuppressLeavesQueuedDeliveries(t *testing.T) {
	key := testKey(t)
	fake, err := githubfake.New(githubfake.Options{
		AppID: appID, PublicKey: &key.PublicKey, InstallationID: installationID,
		Owner: owner, Repo: repo, BotLogin: botLogin, WebhookSecret: secret,
	})
	require.NoError(t, err)
	require.NoError(t, fake.Start())
	t.Cleanup(fake.Close)
	number, _, err := fake.OpenPullRequest("carol", "title", "body")
	require.NoError(t, err)

	fake.SuppressNextDeliveries(1)
	require.NoError(t, fake.EditPullRequestBody("carol", number, "new body"))
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	require.NoError(t, fake.SetWebhookURL(hook.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, fake.WaitIdle(ctx))

	recorded := fake.Deliveries()
	require.Len(t, recorded, 2)
	assert.Equal(t, "opened", recorded[0].Action)
	assert.Equal(t, http.StatusAccepted, recorded[0].Status)
	assert.Equal(t, githubfake.SuppressedError, recorded[1].Error)
	assert.Len(t, rc.deliveries(), 1)
}
