package githubfake_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	gogithub "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/github/githubfake"
	"github.com/sopbot/sopbot/integrations/httpretry"
)

const (
	appID          = 42
	installationID = 7
	owner          = "acme"
	repo           = "ml-requests"
	botLogin       = "sopbot[bot]"
)

var secret = []byte("webhook-secret")

var (
	keyOnce sync.Once
	appKey  *rsa.PrivateKey
)

func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		appKey = key
	})
	return appKey
}

// received is one delivery as the receiver saw it.
type received struct {
	header   http.Header
	body     []byte
	sigError error
}

// receiver is a webhook endpoint that checks signatures and keeps every
// request. Its handler can be replaced to act on deliveries.
type receiver struct {
	mu      sync.Mutex
	got     []received
	onEvent func(event string, body []byte)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sigErr := github.VerifySignature(secret, body, r.Header.Get(github.SignatureHeader))

	rc.mu.Lock()
	rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, sigError: sigErr})
	onEvent := rc.onEvent
	rc.mu.Unlock()

	if onEvent != nil {
		onEvent(r.Header.Get("X-GitHub-Event"), body)
	}
	w.WriteHeader(http.StatusAccepted)
}

func (rc *receiver) deliveries() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

type env struct {
	fake     *githubfake.Fake
	client   *github.Client
	receiver *receiver
	hook     *httptest.Server
}

// start returns a started fake whose webhooks go to a test receiver, and a
// client for it.
func start(t *testing.T) *env {
	t.Helper()
	return startWithClock(t, nil)
}

// startWithClock is start with the fake's timestamps taken from clock, or
// from time.Now when clock is nil.
func startWithClock(t *testing.T, clock func() time.Time) *env {
	t.Helper()
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)

	key := testKey(t)
	fake, err := githubfake.New(githubfake.Options{
		AppID:          appID,
		PublicKey:      &key.PublicKey,
		InstallationID: installationID,
		Owner:          owner,
		Repo:           repo,
		BotLogin:       botLogin,
		WebhookURL:     hook.URL + "/webhook",
		WebhookSecret:  secret,
		Clock:          clock,
	})
	require.NoError(t, err)
	require.NoError(t, fake.Start())
	t.Cleanup(fake.Close)

	client, err := github.New(github.Config{
		BaseURL:    fake.URL(),
		AppID:      appID,
		PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		Owner:      owner,
		Repo:       repo,
		// One attempt a call, so each injected fault reaches the test.
		Retry: httpretry.Settings{MaxAttempts: 1},
	})
	require.NoError(t, err)
	return &env{fake: fake, client: client, receiver: rc, hook: hook}
}

func (e *env) waitIdle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, e.fake.WaitIdle(ctx))
}

// last returns the newest delivery parsed by go-github.
func (e *env) last(t *testing.T) (string, any) {
	t.Helper()
	e.waitIdle(t)
	got := e.receiver.deliveries()
	require.NotEmpty(t, got)
	d := got[len(got)-1]
	event := d.header.Get("X-GitHub-Event")
	parsed, err := gogithub.ParseWebHook(event, d.body)
	require.NoError(t, err)
	return event, parsed
}

func (e *env) createIssue(t *testing.T, body string) int {
	t.Helper()
	issue, err := e.client.CreateIssue(context.Background(), installationID, "[SOP-02] Promote model", body, []string{"sop"})
	require.NoError(t, err)
	return issue.Number
}

func TestDeliveryHeadersAndSignature(t *testing.T) {
	e := start(t)
	e.createIssue(t, "body")
	e.waitIdle(t)

	got := e.receiver.deliveries()
	require.Len(t, got, 1)
	d := got[0]
	assert.NoError(t, d.sigError)
	assert.Equal(t, "issues", d.header.Get("X-GitHub-Event"))
	assert.Len(t, d.header.Get("X-GitHub-Delivery"), 36)
	assert.Equal(t, "application/json", d.header.Get("Content-Type"))
	assert.Equal(t, "GitHub-Hookshot/fake", d.header.Get("User-Agent"))
	assert.Equal(t, "integration", d.header.Get("X-GitHub-Hook-Installation-Target-Type"))
	assert.Equal(t, github.Sign(secret, d.body), d.header.Get(github.SignatureHeader))

	recorded := e.fake.Deliveries()
	require.Len(t, recorded, 1)
	assert.Equal(t, d.header.Get("X-GitHub-Delivery"), recorded[0].ID)
	assert.Equal(t, "opened", recorded[0].Action)
	assert.Equal(t, http.StatusAccepted, recorded[0].Status)
	assert.Equal(t, d.body, recorded[0].Body)
}

func TestBotCreateSendsIssuesOpened(t *testing.T) {
	e := start(t)
	number := e.createIssue(t, "body")

	event, parsed := e.last(t)

	require.Equal(t, "issues", event)
	ev := parsed.(*gogithub.IssuesEvent)
	assert.Equal(t, "opened", ev.GetAction())
	assert.Equal(t, number, ev.GetIssue().GetNumber())
	assert.Equal(t, "sop", ev.GetIssue().Labels[0].GetName())
	assert.Equal(t, botLogin, ev.GetSender().GetLogin())
	assert.Equal(t, "Bot", ev.GetSender().GetType())
	assert.Equal(t, int64(installationID), ev.GetInstallation().GetID())
	assert.Equal(t, "acme/ml-requests", ev.GetRepo().GetFullName())
	assert.Equal(t, "acme", ev.GetRepo().GetOwner().GetLogin())
}

func TestUserEditBodySendsChanges(t *testing.T) {
	e := start(t)
	number := e.createIssue(t, "- [ ] approve")

	require.NoError(t, e.fake.UserEditBody("alice", number, "- [x] approve"))
	event, parsed := e.last(t)

	require.Equal(t, "issues", event)
	ev := parsed.(*gogithub.IssuesEvent)
	assert.Equal(t, "edited", ev.GetAction())
	assert.Equal(t, "- [ ] approve", ev.GetChanges().GetBody().GetFrom())
	assert.Equal(t, "- [x] approve", ev.GetIssue().GetBody())
	assert.Equal(t, "[SOP-02] Promote model", ev.GetIssue().GetTitle())
	assert.Equal(t, "open", ev.GetIssue().GetState())
	assert.Equal(t, "https://github.example/acme/ml-requests/issues/1", ev.GetIssue().GetHTMLURL())
	assert.Equal(t, "alice", ev.GetSender().GetLogin())
	assert.Equal(t, "User", ev.GetSender().GetType())
	assert.Equal(t, botLogin, ev.GetIssue().GetUser().GetLogin())
	assert.Equal(t, "Bot", ev.GetIssue().GetUser().GetType())
	assert.Nil(t, ev.GetIssue().PullRequestLinks)
}

func TestBotEditSendsBotSender(t *testing.T) {
	e := start(t)
	number := e.createIssue(t, "old")

	require.NoError(t, e.client.EditIssueBody(context.Background(), installationID, number, "new"))
	_, parsed := e.last(t)

	ev := parsed.(*gogithub.IssuesEvent)
	assert.Equal(t, "edited", ev.GetAction())
	assert.Equal(t, "old", ev.GetChanges().GetBody().GetFrom())
	assert.Equal(t, botLogin, ev.GetSender().GetLogin())
	assert.Equal(t, "Bot", ev.GetSender().GetType())
}

func TestBotEditWithSameBodySendsNothing(t *testing.T) {
	e := start(t)
	number := e.createIssue(t, "same")

	require.NoError(t, e.client.EditIssueBody(context.Background(), installationID, number, "same"))
	e.waitIdle(t)

	assert.Len(t, e.fake.Deliveries(), 1)
}

func TestCloseSendsIssuesClosed(t *testing.T) {
	tests := []struct {
		name       string
		close      func(e *env, number int) error
		wantSender string
	}{
		{name: "by user", close: func(e *env, n int) error { return e.fake.CloseIssue("alice", n) }, wantSender: "alice"},
		{name: "by bot", close: func(e *env, n int) error {
			return e.client.CloseIssue(context.Background(), installationID, n)
		}, wantSender: botLogin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t)
			number := e.createIssue(t, "body")

			require.NoError(t, tt.close(e, number))
			_, parsed := e.last(t)

			ev := parsed.(*gogithub.IssuesEvent)
			assert.Equal(t, "closed", ev.GetAction())
			assert.Equal(t, "closed", ev.GetIssue().GetState())
			assert.Equal(t, "completed", ev.GetIssue().GetStateReason())
			assert.NotNil(t, ev.GetIssue().ClosedAt)
			assert.Equal(t, tt.wantSender, ev.GetSender().GetLogin())
		})
	}
}

func TestCommentDeliveries(t *testing.T) {
	e := start(t)
	number := e.createIssue(t, "body")

	id, err := e.fake.UserComment("alice", number, "/approve")
	require.NoError(t, err)
	event, parsed := e.last(t)
	require.Equal(t, "issue_comment", event)
	created := parsed.(*gogithub.IssueCommentEvent)
	assert.Equal(t, "created", created.GetAction())
	assert.Equal(t, id, created.GetComment().GetID())
	assert.Equal(t, "/approve", created.GetComment().GetBody())
	assert.Equal(t, "alice", created.GetComment().GetUser().GetLogin())
	assert.Equal(t, number, created.GetIssue().GetNumber())
	assert.Equal(t, "acme", created.GetOrganization().GetLogin())

	require.NoError(t, e.fake.UserEditComment("alice", id, "/approve now"))
	_, parsed = e.last(t)
	edited := parsed.(*gogithub.IssueCommentEvent)
	assert.Equal(t, "edited", edited.GetAction())
	assert.Equal(t, "/approve", edited.GetChanges().GetBody().GetFrom())
	assert.Equal(t, "/approve now", edited.GetComment().GetBody())

	assert.Equal(t, []githubfake.Comment{{ID: id, Issue: number, Body: "/approve now", User: "alice"}}, e.fake.Comments(number))
}

func TestBotCommentSendsIssueComment(t *testing.T) {
	e := start(t)
	number := e.createIssue(t, "body")

	_, err := e.client.CreateComment(context.Background(), installationID, number, "Recorded.")
	require.NoError(t, err)
	_, parsed := e.last(t)

	ev := parsed.(*gogithub.IssueCommentEvent)
	assert.Equal(t, "created", ev.GetAction())
	assert.Equal(t, "Bot", ev.GetSender().GetType())
	assert.Equal(t, "Bot", ev.GetComment().GetUser().GetType())
}

func TestPullRequestDeliveries(t *testing.T) {
	e := start(t)
	e.createIssue(t, "first")

	number, head, err := e.fake.OpenPullRequest("carol", "Promote v3", "Implements SOP-02")
	require.NoError(t, err)
	assert.Equal(t, 2, number, "pull requests share the issue numbers")
	assert.Len(t, head, 40)

	event, parsed := e.last(t)
	require.Equal(t, "pull_request", event)
	opened := parsed.(*gogithub.PullRequestEvent)
	assert.Equal(t, "opened", opened.GetAction())
	assert.Equal(t, number, opened.GetNumber())
	assert.Equal(t, head, opened.GetPullRequest().GetHead().GetSHA())
	assert.Equal(t, "Promote v3", opened.GetPullRequest().GetTitle())
	assert.Equal(t, "carol", opened.GetPullRequest().GetUser().GetLogin())
	assert.Equal(t, "acme/ml-requests", opened.GetPullRequest().GetBase().GetRepo().GetFullName())
	assert.Equal(t, "https://github.example/acme/ml-requests/pull/2", opened.GetPullRequest().GetHTMLURL())

	require.NoError(t, e.fake.EditPullRequestBody("carol", number, "Implements SOP-03"))
	_, parsed = e.last(t)
	edited := parsed.(*gogithub.PullRequestEvent)
	assert.Equal(t, "edited", edited.GetAction())
	assert.Equal(t, "Implements SOP-02", edited.GetChanges().GetBody().GetFrom())
	assert.Equal(t, "Implements SOP-03", edited.GetPullRequest().GetBody())

	newHead, err := e.fake.PushToPullRequest("carol", number)
	require.NoError(t, err)
	assert.NotEqual(t, head, newHead)
	_, parsed = e.last(t)
	synced := parsed.(*gogithub.PullRequestEvent)
	assert.Equal(t, "synchronize", synced.GetAction())
	assert.Equal(t, head, synced.GetBefore())
	assert.Equal(t, newHead, synced.GetAfter())
	assert.Equal(t, newHead, synced.GetPullRequest().GetHead().GetSHA())

	stored, ok := e.fake.Issue(number)
	require.True(t, ok)
	assert.True(t, stored.PullRequest)
	assert.Equal(t, newHead, stored.HeadSHA)
}

func TestSubmitReviewDeliveries(t *testing.T) {
	tests := []struct {
		state string
		body  string
	}{
		{state: "approved"},
		{state: "changes_requested", body: "Needs the eval report."},
		{state: "commented", body: "Looks fine so far."},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			e := start(t)
			number, head, err := e.fake.OpenPullRequest("carol", "Promote v3", "body")
			require.NoError(t, err)

			id, err := e.fake.SubmitReview("alice", number, tt.state, tt.body)
			require.NoError(t, err)
			event, parsed := e.last(t)

			require.Equal(t, "pull_request_review", event)
			ev := parsed.(*gogithub.PullRequestReviewEvent)
			assert.Equal(t, "submitted", ev.GetAction())
			assert.Equal(t, id, ev.GetReview().GetID())
			assert.Equal(t, tt.state, ev.GetReview().GetState())
			assert.Equal(t, tt.body, ev.GetReview().GetBody())
			assert.Equal(t, head, ev.GetReview().GetCommitID())
			assert.Equal(t, "alice", ev.GetReview().GetUser().GetLogin())
			assert.Equal(t, "alice", ev.GetSender().GetLogin())
			assert.Equal(t, number, ev.GetPullRequest().GetNumber())
			assert.Equal(t, int64(installationID), ev.GetInstallation().GetID())
		})
	}
}

func TestSubmitReviewRules(t *testing.T) {
	e := start(t)
	number, _, err := e.fake.OpenPullRequest("carol", "Promote v3", "body")
	require.NoError(t, err)
	issue := e.createIssue(t, "not a pull request")

	_, err = e.fake.SubmitReview("carol", number, "approved", "")
	assert.ErrorContains(t, err, "own pull request", "authors cannot approve")

	_, err = e.fake.SubmitReview("carol", number, "commented", "note")
	assert.NoError(t, err, "authors may comment")

	_, err = e.fake.SubmitReview("alice", number, "APPROVE", "")
	assert.ErrorContains(t, err, "invalid")

	_, err = e.fake.SubmitReview("alice", issue, "approved", "")
	assert.ErrorIs(t, err, githubfake.ErrNotFound)
}

func TestDismissReview(t *testing.T) {
	e := start(t)
	number, head, err := e.fake.OpenPullRequest("carol", "Promote v3", "body")
	require.NoError(t, err)
	approval, err := e.fake.SubmitReview("alice", number, "approved", "")
	require.NoError(t, err)
	comment, err := e.fake.SubmitReview("alice", number, "commented", "nit")
	require.NoError(t, err)

	require.NoError(t, e.fake.DismissReview("bob", number, approval))
	event, parsed := e.last(t)

	require.Equal(t, "pull_request_review", event)
	ev := parsed.(*gogithub.PullRequestReviewEvent)
	assert.Equal(t, "dismissed", ev.GetAction())
	assert.Equal(t, approval, ev.GetReview().GetID())
	assert.Equal(t, "dismissed", ev.GetReview().GetState())
	assert.Equal(t, head, ev.GetReview().GetCommitID())
	assert.Equal(t, "bob", ev.GetSender().GetLogin())

	assert.Error(t, e.fake.DismissReview("bob", number, comment), "commented reviews cannot be dismissed")
	assert.ErrorIs(t, e.fake.DismissReview("bob", number, 1), githubfake.ErrNotFound)
	reviews := e.fake.Reviews(number)
	require.Len(t, reviews, 2)
	assert.Equal(t, "dismissed", reviews[0].State)
}

func TestDeliveriesAreFIFO(t *testing.T) {
	e := start(t)
	number := e.createIssue(t, "0")
	for i := 1; i <= 20; i++ {
		require.NoError(t, e.fake.UserEditBody("alice", number, string(rune('a'+i))))
	}
	e.waitIdle(t)

	recorded := e.fake.Deliveries()
	got := e.receiver.deliveries()
	require.Len(t, got, 21)
	require.Len(t, recorded, 21)
	for i := range got {
		assert.Equal(t, recorded[i].ID, got[i].header.Get("X-GitHub-Delivery"), "delivery %d", i)
	}
}

func TestRedeliverKeepsIDAndBytes(t *testing.T) {
	e := start(t)
	number := e.createIssue(t, "old")
	require.NoError(t, e.fake.UserEditBody("alice", number, "new"))
	e.waitIdle(t)
	original := e.fake.Deliveries()[1]

	require.NoError(t, e.fake.Redeliver(original.ID))
	e.waitIdle(t)

	got := e.receiver.deliveries()
	require.Len(t, got, 3)
	assert.Equal(t, original.ID, got[2].header.Get("X-GitHub-Delivery"))
	assert.Equal(t, original.Body, got[2].body)
	assert.Equal(t, got[1].header.Get(github.SignatureHeader), got[2].header.Get(github.SignatureHeader))
	recorded := e.fake.Deliveries()
	assert.True(t, recorded[2].Redelivery)
	assert.Error(t, e.fake.Redeliver("no-such-id"))
}

func TestDeliveriesWaitForWebhookURL(t *testing.T) {
	key := testKey(t)
	fake, err := githubfake.New(githubfake.Options{
		AppID: appID, PublicKey: &key.PublicKey, InstallationID: installationID,
		Owner: owner, Repo: repo, BotLogin: botLogin, WebhookSecret: secret,
	})
	require.NoError(t, err)
	require.NoError(t, fake.Start())
	t.Cleanup(fake.Close)
	_, _, err = fake.OpenPullRequest("carol", "title", "body")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.Error(t, fake.WaitIdle(ctx), "nothing can be sent without a URL")

	rc := &receiver{}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	require.NoError(t, fake.SetWebhookURL(hook.URL))
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, fake.WaitIdle(ctx))
	assert.Len(t, rc.deliveries(), 1)
}

func TestWebhookURLMustBeLoopback(t *testing.T) {
	e := start(t)
	for _, target := range []string{"http://example.com/hook", "http://10.0.0.1/hook", "ftp://127.0.0.1/"} {
		assert.Error(t, e.fake.SetWebhookURL(target), target)
	}
	assert.NoError(t, e.fake.SetWebhookURL("http://localhost:1/hook"))
	assert.NoError(t, e.fake.SetWebhookURL("http://[::1]:1/hook"))
}

// TestHandlerCallingBackDoesNotDeadlock has the webhook receiver edit the
// issue through the API while the fake waits for its response.
func TestHandlerCallingBackDoesNotDeadlock(t *testing.T) {
	e := start(t)
	number := e.createIssue(t, "- [ ] approve")
	e.waitIdle(t)

	var once sync.Once
	e.receiver.mu.Lock()
	e.receiver.onEvent = func(event string, body []byte) {
		var ev gogithub.IssuesEvent
		if event != "issues" || json.Unmarshal(body, &ev) != nil || ev.GetSender().GetType() == "Bot" {
			return
		}
		once.Do(func() {
			err := e.client.EditIssueBody(context.Background(), installationID, number, "- [x] approve (recorded)")
			assert.NoError(t, err)
		})
	}
	e.receiver.mu.Unlock()

	require.NoError(t, e.fake.UserEditBody("alice", number, "- [x] approve"))
	e.waitIdle(t)

	got := e.fake.Deliveries()
	require.Len(t, got, 3)
	issue, _ := e.fake.Issue(number)
	assert.Equal(t, "- [x] approve (recorded)", issue.Body)
}

func TestUnknownRouteAndMissingToken(t *testing.T) {
	e := start(t)
	tests := []struct {
		path        string
		wantStatus  int
		wantMessage string
	}{
		{path: "nope", wantStatus: http.StatusNotFound, wantMessage: "Not Found"},
		{path: "repos/acme/ml-requests/issues", wantStatus: http.StatusUnauthorized, wantMessage: "Bad credentials"},
		{path: "repos/acme/ml-requests/installation", wantStatus: http.StatusUnauthorized, wantMessage: "Bad credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, e.fake.URL()+tt.path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "token ghs_guessed")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()

			var body struct {
				Message          string `json:"message"`
				DocumentationURL string `json:"documentation_url"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			assert.Equal(t, tt.wantMessage, body.Message)
			assert.NotEmpty(t, body.DocumentationURL)
		})
	}
}

func TestFailNextCountsDown(t *testing.T) {
	e := start(t)
	number := e.createIssue(t, "body")
	e.fake.FailNext("GET", "/repos/acme/ml-requests/issues/", http.StatusBadGateway, 2)
	ctx := context.Background()

	_, err1 := e.client.GetIssue(ctx, installationID, number)
	_, err2 := e.client.GetIssue(ctx, installationID, number)
	_, err3 := e.client.GetIssue(ctx, installationID, number)

	assert.Error(t, err1)
	assert.Error(t, err2)
	assert.NoError(t, err3)
	calls := e.fake.Calls()
	assert.Equal(t, "GET /repos/acme/ml-requests/issues/1 -> 502", calls[len(calls)-3])
	assert.Equal(t, "GET /repos/acme/ml-requests/issues/1", calls[len(calls)-1])
}

func TestNewValidatesOptions(t *testing.T) {
	_, err := githubfake.New(githubfake.Options{WebhookURL: "http://example.com/", Addr: "0.0.0.0:0"})

	require.Error(t, err)
	for _, want := range []string{"app id", "public key", "installation id", "repository", "bot login", "webhook secret", "webhook URL", "listen address"} {
		assert.ErrorContains(t, err, want)
	}
}

// TestPayloadsMatchTestdata keeps the embedded templates and the copies
// used by handler tests byte for byte equal.
func TestPayloadsMatchTestdata(t *testing.T) {
	files, err := filepath.Glob("payloads/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			embedded, err := os.ReadFile(file)
			require.NoError(t, err)
			copied, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "github", filepath.Base(file)))
			require.NoError(t, err)
			assert.Equal(t, embedded, copied)
		})
	}
}
