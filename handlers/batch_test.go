package handlers_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/handlers"
)

func TestConcurrentDeliveriesStoredOnceEach(t *testing.T) {
	h := newHarness(t, func(s *handlers.Server) { s.Repository = "Codertocat/Hello-World" })
	body := githubFixture(t, "issue_comment.created.json")

	const unique, senders = 30, 60 // every id is sent twice, at the same time
	requests := make([]*http.Request, 0, senders)
	for i := 0; i < senders; i++ {
		requests = append(requests, h.githubRequest(t, "issue_comment", fmt.Sprintf("batch-%d", i%unique), body))
	}
	statuses := make([]string, senders)
	codes := make([]int, senders)
	var wg sync.WaitGroup
	for i, req := range requests {
		wg.Add(1)
		go func(i int, req *http.Request) {
			defer wg.Done()
			resp, err := h.client.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			var reply map[string]string
			_ = json.Unmarshal(data, &reply)
			codes[i], statuses[i] = resp.StatusCode, reply["status"]
		}(i, req)
	}
	wg.Wait()

	queued, duplicate := 0, 0
	for i := range codes {
		require.Equal(t, http.StatusAccepted, codes[i], "request %d", i)
		switch statuses[i] {
		case "queued":
			queued++
		case "duplicate":
			duplicate++
		}
	}
	assert.Equal(t, unique, queued, "each delivery id is stored once")
	assert.Equal(t, senders-unique, duplicate, "its twin is answered as a duplicate")
	assert.Len(t, h.deliveries(t), unique, "stored rows")
	assert.Len(t, h.jobs(t), unique, "processing jobs")
}

func TestBatchEnqueueSkipsExistingJob(t *testing.T) {
	// A process_delivery job that outlived its delivery row takes the
	// unique key of the next delivery with that id. The batch insert must
	// skip it, not fail the batch.
	h := newHarness(t, nil)
	queue, ok := h.server.Queue.(*river.Client[*sql.Tx])
	require.True(t, ok, "the harness queue is a River client")
	ctx := context.Background()
	require.NoError(t, h.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := queue.InsertTx(ctx, tx, bot.ProcessDeliveryArgs{DeliveryID: "github:taken-1"}, nil)
		return err
	}))
	body := githubFixture(t, "issue_comment.created.json")

	got := h.postGitHub(t, "issue_comment", "taken-1", body)

	require.Equal(t, http.StatusAccepted, got.status, "status: got %d, want 202 (body %s)", got.status, got.body)
	assert.Equal(t, "queued", got.json(t)["status"])
	assert.Len(t, h.deliveries(t), 1, "stored rows")
	assert.Equal(t, []storedJob{{Kind: "process_delivery", DeliveryID: "github:taken-1"}}, h.jobs(t), "one job for the id")
}
