package handlers_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/handlers"
	"github.com/sopbot/sopbot/integrations/github"
)

func TestGitHubSignatureVector(t *testing.T) {
	// The worked example of GitHub Docs, "Validating webhook deliveries".
	const (
		secret = "It's a Secret to Everybody"
		body   = "Hello, World!"
		want   = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	)

	assert.Equal(t, want, github.Sign([]byte(secret), []byte(body)), "signature of the documented example")
	assert.NoError(t, github.VerifySignature([]byte(secret), []byte(body), want), "verifying the documented example")
}

func TestGitHubSignatureVectorThroughHandler(t *testing.T) {
	// The documented vector signs a body that is not JSON, so a server
	// holding its secret passes the signature check and then rejects the
	// body. A flipped byte stops the request at the signature check.
	const (
		secret    = "It's a Secret to Everybody"
		signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	)
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantError  string
	}{
		{"documented body", "Hello, World!", http.StatusBadRequest, "payload is not valid JSON"},
		{"flipped byte", "Hello, World?", http.StatusUnauthorized, "invalid or missing X-Hub-Signature-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(s *handlers.Server) { s.GitHubSecret = []byte(secret) })
			req := h.githubRequest(t, "issues", "vector-1", []byte(tt.body))
			req.Header.Set(github.SignatureHeader, signature)

			got := h.do(t, req)

			assert.Equal(t, tt.wantStatus, got.status, "status: got %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			assert.Contains(t, got.json(t)["error"], tt.wantError)
			h.requireNothingStored(t)
		})
	}
}

func TestGitHubWebhookStoresDelivery(t *testing.T) {
	tests := []struct {
		file             string
		repository       string
		wantAction       string
		wantInstallation int64
	}{
		{"issues.edited.task-list-tick.json", "Mageroni-Org/Actions-more-than-CI-CD", "edited", 35217443},
		{"issues.edited.json", "Codertocat/Hello-World", "edited", 0},
		{"issues.opened.json", "Codertocat/Hello-World", "opened", 0},
		{"issue_comment.created.json", "Codertocat/Hello-World", "created", 1},
		{"pull_request.opened.json", "Codertocat/Hello-World", "opened", 1},
		{"pull_request.synchronize.json", "Codertocat/Hello-World", "synchronize", 1},
		{"pull_request_review.submitted.approved.json", "sotayamashita/test_project", "submitted", 68282},
		{"pull_request_review.submitted.approved.with-node-id.json", "erwinmombay/github-owners-bot-test-repo", "submitted", 588033},
		{"pull_request_review.submitted.changes_requested.json", "sotayamashita/test_project", "submitted", 68282},
		{"pull_request_review.submitted.commented.json", "Codertocat/Hello-World", "submitted", 1},
		{"pull_request_review.dismissed.json", "Codertocat/Hello-World", "dismissed", 1},
		{"check_run.completed.json", "Codertocat/Hello-World", "completed", 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(s *handlers.Server) { s.Repository = tt.repository })
			body := githubFixture(t, tt.file)
			event := eventOfFixture(tt.file)
			const deliveryID = "72d3162e-cc78-11e3-81ab-4c9367dc0958"

			first := h.postGitHub(t, event, deliveryID, body)

			require.Equal(t, http.StatusAccepted, first.status, "first post: got %d, want 202 (body %s)", first.status, first.body)
			assert.Equal(t, map[string]string{"status": "queued", "delivery": deliveryID}, first.json(t))
			want := storedDelivery{
				ID: "github:" + deliveryID, Source: "github", Event: event, Action: tt.wantAction,
				InstallationID: tt.wantInstallation, Payload: body,
			}
			assert.Equal(t, []storedDelivery{want}, h.deliveries(t), "deliveries after the first post")
			assert.Equal(t, []storedJob{{Kind: "process_delivery", DeliveryID: want.ID}}, h.jobs(t), "jobs after the first post")

			second := h.postGitHub(t, event, deliveryID, body)

			require.Equal(t, http.StatusAccepted, second.status, "redelivery: got %d, want 202 (body %s)", second.status, second.body)
			assert.Equal(t, map[string]string{"status": "duplicate", "delivery": deliveryID}, second.json(t))
			assert.Len(t, h.deliveries(t), 1, "deliveries after the redelivery")
			assert.Len(t, h.jobs(t), 1, "jobs after the redelivery")
		})
	}
}

func TestGitHubWebhookRepositoryMatchIgnoresCase(t *testing.T) {
	h := newHarness(t, func(s *handlers.Server) { s.Repository = "codertocat/hello-world" })

	got := h.postGitHub(t, "issues", "case-1", githubFixture(t, "issues.opened.json"))

	require.Equal(t, http.StatusAccepted, got.status, "status: got %d, want 202 (body %s)", got.status, got.body)
	assert.Equal(t, "queued", got.json(t)["status"])
	assert.Len(t, h.deliveries(t), 1)
}

func TestGitHubWebhookIgnoresOtherRepository(t *testing.T) {
	files := []string{
		"issues.edited.task-list-tick.json",
		"issue_comment.created.json",
		"pull_request.opened.json",
		"pull_request_review.submitted.approved.json",
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(s *handlers.Server) { s.Repository = "acme/ml-requests" })

			got := h.postGitHub(t, eventOfFixture(file), "other-repo-1", githubFixture(t, file))

			require.Equal(t, http.StatusAccepted, got.status, "status: got %d, want 202 (body %s)", got.status, got.body)
			assert.Equal(t, map[string]string{"status": "ignored", "reason": "repository not configured"}, got.json(t))
			h.requireNothingStored(t)
		})
	}
}

func TestGitHubWebhookAnswersWithoutStoring(t *testing.T) {
	tests := []struct {
		name       string
		event      string
		file       string
		wantStatus int
		wantBody   map[string]string
	}{
		{"ping", "ping", "ping.json", http.StatusOK, map[string]string{"status": "pong"}},
		{"push", "push", "push.new-branch.json", http.StatusAccepted, map[string]string{"status": "ignored", "reason": "event not handled"}},
		{"check_suite", "check_suite", "check_suite.completed.json", http.StatusAccepted, map[string]string{"status": "ignored", "reason": "event not handled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)

			got := h.postGitHub(t, tt.event, "unstored-1", githubFixture(t, tt.file))

			assert.Equal(t, tt.wantStatus, got.status, "status: got %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			assert.Equal(t, tt.wantBody, got.json(t))
			h.requireNothingStored(t)
		})
	}
}

func TestGitHubWebhookRejectsMalformed(t *testing.T) {
	fixture := githubFixture(t, "issues.opened.json")
	tests := []struct {
		name              string
		emptyServerSecret bool
		body              []byte
		// edit changes the headers of a request signed with the server's
		// secret for event issues.
		edit       func(h http.Header, body []byte)
		wantStatus int
		wantError  string
	}{
		{
			name:       "no signature header",
			body:       fixture,
			edit:       func(h http.Header, _ []byte) { h.Del(github.SignatureHeader) },
			wantStatus: http.StatusUnauthorized, wantError: "invalid or missing X-Hub-Signature-256",
		},
		{
			name: "signature of another secret",
			body: fixture,
			edit: func(h http.Header, body []byte) {
				h.Set(github.SignatureHeader, github.Sign([]byte("another secret"), body))
			},
			wantStatus: http.StatusUnauthorized, wantError: "invalid or missing X-Hub-Signature-256",
		},
		{
			name: "signature of another body",
			body: fixture,
			edit: func(h http.Header, body []byte) {
				h.Set(github.SignatureHeader, github.Sign([]byte(testGitHubSecret), body[:len(body)-1]))
			},
			wantStatus: http.StatusUnauthorized, wantError: "invalid or missing X-Hub-Signature-256",
		},
		{
			name: "sha1 prefix",
			body: fixture,
			edit: func(h http.Header, body []byte) {
				h.Set(github.SignatureHeader, "sha1="+hexHMAC(sha1.New, testGitHubSecret, body))
			},
			wantStatus: http.StatusUnauthorized, wantError: "invalid or missing X-Hub-Signature-256",
		},
		{
			name: "only the legacy sha1 header",
			body: fixture,
			edit: func(h http.Header, body []byte) {
				h.Del(github.SignatureHeader)
				h.Set("X-Hub-Signature", "sha1="+hexHMAC(sha1.New, testGitHubSecret, body))
			},
			wantStatus: http.StatusUnauthorized, wantError: "invalid or missing X-Hub-Signature-256",
		},
		{
			name:       "signature not hex",
			body:       fixture,
			edit:       func(h http.Header, _ []byte) { h.Set(github.SignatureHeader, "sha256="+strings.Repeat("zz", 32)) },
			wantStatus: http.StatusUnauthorized, wantError: "invalid or missing X-Hub-Signature-256",
		},
		{
			// An empty key still yields an HMAC, and the server must
			// not accept it as a signature.
			name:              "empty secret on the server",
			emptyServerSecret: true,
			body:              fixture,
			edit:              func(h http.Header, body []byte) { h.Set(github.SignatureHeader, github.Sign(nil, body)) },
			wantStatus:        http.StatusUnauthorized, wantError: "invalid or missing X-Hub-Signature-256",
		},
		{
			name:              "empty secret on the server and no signature",
			emptyServerSecret: true,
			body:              fixture,
			edit:              func(h http.Header, _ []byte) { h.Del(github.SignatureHeader) },
			wantStatus:        http.StatusUnauthorized, wantError: "invalid or missing X-Hub-Signature-256",
		},
		{
			name:       "missing X-GitHub-Event",
			body:       fixture,
			edit:       func(h http.Header, _ []byte) { h.Del("X-GitHub-Event") },
			wantStatus: http.StatusBadRequest, wantError: "missing X-GitHub-Event or X-GitHub-Delivery header",
		},
		{
			name:       "missing X-GitHub-Delivery",
			body:       fixture,
			edit:       func(h http.Header, _ []byte) { h.Del("X-GitHub-Delivery") },
			wantStatus: http.StatusBadRequest, wantError: "missing X-GitHub-Event or X-GitHub-Delivery header",
		},
		{
			name:       "X-GitHub-Delivery over 100 bytes",
			body:       fixture,
			edit:       func(h http.Header, _ []byte) { h.Set("X-GitHub-Delivery", strings.Repeat("d", 101)) },
			wantStatus: http.StatusBadRequest, wantError: "missing X-GitHub-Event or X-GitHub-Delivery header",
		},
		{
			name:       "truncated JSON",
			body:       fixture[:len(fixture)/2],
			edit:       func(http.Header, []byte) {},
			wantStatus: http.StatusBadRequest, wantError: "payload is not valid JSON",
		},
		{
			name:       "JSON array",
			body:       []byte(`[]`),
			edit:       func(http.Header, []byte) {},
			wantStatus: http.StatusBadRequest, wantError: "payload is not valid JSON",
		},
		{
			name:       "text/plain",
			body:       fixture,
			edit:       func(h http.Header, _ []byte) { h.Set("Content-Type", "text/plain") },
			wantStatus: http.StatusBadRequest, wantError: "unsupported Content-Type text/plain",
		},
		{
			name:       "no Content-Type",
			body:       fixture,
			edit:       func(h http.Header, _ []byte) { h.Del("Content-Type") },
			wantStatus: http.StatusBadRequest, wantError: "missing or invalid Content-Type",
		},
		{
			name:       "form without a payload field",
			body:       []byte("other=" + url.QueryEscape(string(fixture))),
			edit:       func(h http.Header, _ []byte) { h.Set("Content-Type", "application/x-www-form-urlencoded") },
			wantStatus: http.StatusBadRequest, wantError: "form body has no payload field",
		},
		{
			name:       "form with an empty payload field",
			body:       []byte("payload="),
			edit:       func(h http.Header, _ []byte) { h.Set("Content-Type", "application/x-www-form-urlencoded") },
			wantStatus: http.StatusBadRequest, wantError: "form body has no payload field",
		},
		{
			name:       "form with truncated JSON",
			body:       []byte("payload=" + url.QueryEscape(string(fixture[:100]))),
			edit:       func(h http.Header, _ []byte) { h.Set("Content-Type", "application/x-www-form-urlencoded") },
			wantStatus: http.StatusBadRequest, wantError: "payload is not valid JSON",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(s *handlers.Server) {
				if tt.emptyServerSecret {
					s.GitHubSecret = nil
				}
			})
			req := h.githubRequest(t, "issues", "malformed-1", tt.body)
			tt.edit(req.Header, tt.body)

			got := h.do(t, req)

			assert.Equal(t, tt.wantStatus, got.status, "status: got %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			assert.Contains(t, got.json(t)["error"], tt.wantError)
			h.requireNothingStored(t)
		})
	}
}

func TestGitHubWebhookFormEncoded(t *testing.T) {
	h := newHarness(t, nil)
	payload := githubFixture(t, "issue_comment.created.json")
	form := []byte(url.Values{"payload": {string(payload)}}.Encode())
	req := h.githubRequest(t, "issue_comment", "form-1", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	got := h.do(t, req)

	require.Equal(t, http.StatusAccepted, got.status, "status: got %d, want 202 (body %s)", got.status, got.body)
	stored := h.deliveries(t)
	require.Len(t, stored, 1)
	assert.Equal(t, payload, stored[0].Payload, "stored payload: want the JSON of the payload field, not the form")
	assert.Equal(t, "created", stored[0].Action)
	assert.Equal(t, int64(1), stored[0].InstallationID)
	assert.Equal(t, []storedJob{{Kind: "process_delivery", DeliveryID: "github:form-1"}}, h.jobs(t))
}

func TestGitHubWebhookInvalidUTF8(t *testing.T) {
	// Go's JSON decoder replaces invalid UTF-8 in strings with U+FFFD, so
	// a signed payload with such bytes in a comment body passes the
	// envelope decode. The handler stores the signed bytes unchanged.
	fixture := githubFixture(t, "issue_comment.created.json")
	original := []byte(`"body": "You are totally right! I'll get this fixed right away."`)
	require.Equal(t, 1, bytes.Count(fixture, original), "fixture has the comment body to replace")
	body := bytes.Replace(fixture, original, []byte("\"body\": \"You are totally \xff\xfe right\xc3\""), 1)
	h := newHarness(t, nil)

	got := h.postGitHub(t, "issue_comment", "utf8-1", body)

	require.Equal(t, http.StatusAccepted, got.status, "status: got %d, want 202 (body %s)", got.status, got.body)
	assert.Equal(t, "queued", got.json(t)["status"])
	stored := h.deliveries(t)
	require.Len(t, stored, 1)
	assert.Equal(t, body, stored[0].Payload, "stored payload: want the signed bytes unchanged")
	assert.Equal(t, "created", stored[0].Action)
	assert.Len(t, h.jobs(t), 1)
}

func TestGitHubWebhookBodySize(t *testing.T) {
	tests := []struct {
		name       string
		size       int64
		wantStatus int
		wantError  string
	}{
		// A body of exactly the limit is read whole, then fails to
		// decode because it is not JSON.
		{"exactly the limit", handlers.MaxGitHubBody, http.StatusBadRequest, "payload is not valid JSON"},
		{"one byte over the limit", handlers.MaxGitHubBody + 1, http.StatusRequestEntityTooLarge, "body exceeds 25 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			req, err := http.NewRequest(http.MethodPost, h.url+"/github/webhook", filler(tt.size))
			require.NoError(t, err)
			req.ContentLength = tt.size
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "issues")
			req.Header.Set("X-GitHub-Delivery", "large-1")
			req.Header.Set(github.SignatureHeader, "sha256="+streamHMAC(t, testGitHubSecret, filler(tt.size)))

			got := h.do(t, req)

			assert.Equal(t, tt.wantStatus, got.status, "status: got %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			assert.Contains(t, got.json(t)["error"], tt.wantError)
			h.requireNothingStored(t)
		})
	}
}

func TestStreamHMACMatchesSign(t *testing.T) {
	const size = 100_000
	body, err := io.ReadAll(filler(size))
	require.NoError(t, err)

	assert.Equal(t, github.Sign([]byte(testGitHubSecret), body), "sha256="+streamHMAC(t, testGitHubSecret, filler(size)))
}

func TestGitHubWebhookMethodNotAllowed(t *testing.T) {
	h := newHarness(t, nil)
	req, err := http.NewRequest(http.MethodGet, h.url+"/github/webhook", nil)
	require.NoError(t, err)

	got := h.do(t, req)

	assert.Equal(t, http.StatusMethodNotAllowed, got.status, "status: got %d, want 405", got.status)
	assert.Contains(t, got.header.Get("Allow"), http.MethodPost)
	h.requireNothingStored(t)
}

// filler returns a reader of size bytes of 'a', generated as they are read.
func filler(size int64) io.Reader { return io.LimitReader(repeatByte('a'), size) }

type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// streamHMAC returns the hex HMAC-SHA256 of everything r yields, without
// holding it in memory.
func streamHMAC(t testing.TB, secret string, r io.Reader) string {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	_, err := io.Copy(mac, r)
	require.NoError(t, err)
	return hex.EncodeToString(mac.Sum(nil))
}

func hexHMAC(newHash func() hash.Hash, secret string, body []byte) string {
	mac := hmac.New(newHash, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func TestGitHubWebhookIgnoresOtherInstallation(t *testing.T) {
	h := newHarness(t, func(s *handlers.Server) { s.InstallationID = 42 })
	body := githubFixture(t, "issue_comment.created.json") // installation 1

	got := h.postGitHub(t, "issue_comment", "other-installation-1", body)

	assert.Equal(t, http.StatusAccepted, got.status, "status: got %d, want 202 (body %s)", got.status, got.body)
	assert.Equal(t, map[string]string{"status": "ignored", "reason": "installation not configured"}, got.json(t))
	h.requireNothingStored(t)
}

func TestGitHubWebhookMissingInstallationIgnored(t *testing.T) {
	h := newHarness(t, func(s *handlers.Server) { s.InstallationID = 1 })
	body := githubFixture(t, "issues.edited.json") // a repository webhook: no installation

	got := h.postGitHub(t, "issues", "no-installation-1", body)

	assert.Equal(t, http.StatusAccepted, got.status)
	assert.Equal(t, map[string]string{"status": "ignored", "reason": "installation not configured"}, got.json(t))
	h.requireNothingStored(t)
}
