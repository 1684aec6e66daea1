package handlers_test

import (
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkGitHubWebhookAck measures one signed webhook through the real
// handler over a loopback listener: verify, store the delivery and its
// job in one SQLite transaction, acknowledge. Each iteration has its own
// delivery id, so every request writes a row.
func BenchmarkGitHubWebhookAck(b *testing.B) {
	h := newHarness(b, nil)
	body := githubFixture(b, "issue_comment.created.json")
	b.SetBytes(int64(len(body)))

	for i := 0; b.Loop(); i++ {
		got := h.postGitHub(b, "issue_comment", "bench-"+strconv.Itoa(i), body)
		if got.status != http.StatusAccepted {
			b.Fatalf("status: got %d, want 202 (body %s)", got.status, got.body)
		}
	}
}

// BenchmarkSlackCommandAck measures one signed slash command through the
// real handler over a loopback listener: verify, parse, store the
// delivery and its job, reply. Each iteration has its own trigger_id, and
// encoding its form is part of the timed loop.
func BenchmarkSlackCommandAck(b *testing.B) {
	h := newHarness(b, nil)

	for i := 0; b.Loop(); i++ {
		body := slackForm("promote model fraud-detector 3", func(f url.Values) {
			f.Set("trigger_id", "bench-"+strconv.Itoa(i))
		})
		got := h.postSlack(b, body)
		if got.status != http.StatusOK {
			b.Fatalf("status: got %d, want 200 (body %s)", got.status, got.body)
		}
	}
}

// BenchmarkGitHubWebhookAckConcurrent measures the same webhook as
// BenchmarkGitHubWebhookAck from 25 goroutines per GOMAXPROCS (50 on two
// cores), each on its own keep-alive connection, so that concurrent
// deliveries share commits as they do under load. ns/op is wall time per
// acknowledged delivery.
func BenchmarkGitHubWebhookAckConcurrent(b *testing.B) {
	const perProc = 25
	h := newHarness(b, nil)
	body := githubFixture(b, "issue_comment.created.json")
	senders := perProc * runtime.GOMAXPROCS(0)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	defer client.CloseIdleConnections()
	b.SetBytes(int64(len(body)))
	var next atomic.Int64

	b.SetParallelism(perProc)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := "bench-" + strconv.FormatInt(next.Add(1), 10)
			resp, err := client.Do(h.githubRequest(b, "issue_comment", id, body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status: got %d, want 202", resp.StatusCode)
				return
			}
		}
	})
}
