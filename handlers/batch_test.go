package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
