package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
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
