package github

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// createAttempts is how many times CreateIssue and CreateComment send their
// POST when its outcome stays unknown.
const createAttempts = 3

// createdWindow is how far back CreateIssue and CreateComment look for
// what an earlier attempt of the same call created. It is wide because
// GitHub stamps the time with its own clock, which can differ from ours.
const createdWindow = 5 * time.Minute

// retryRules are the GitHub API's retry rules. Reads, PUT, PATCH and DELETE
// set a state, so sending them twice changes nothing. So do the token
// request, which only mints another token, and a commit status, where the
// newest status of a context is the one GitHub shows and checks. Issues and
// comments are created with httpretry.Once. A Retry-After on any GitHub
// response holds back every request, because GitHub's rate limits apply to
// the app's requests as a whole, not to one route.
func retryRules() httpretry.Rules {
	return httpretry.Rules{
		Replayable: func(r *http.Request) bool {
			if r.Method != http.MethodPost {
				return true
			}
			return strings.HasSuffix(r.URL.Path, "/access_tokens") || strings.Contains(r.URL.Path, "/statuses/")
		},
		Limited: func(resp *http.Response) (time.Duration, bool) {
			if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
				return 0, false
			}
			return retryAfterHeader(resp.Header, time.Now())
		},
	}
}

// outcomeUnknown reports whether a failed create may have taken effect: a
// 5xx response, or no response for a reason other than a request that was
// never sent.
func outcomeUnknown(err error) bool {
	var tokenErr *ghinstallation.HTTPError
	if httpretry.NotSent(err) || isRateLimit(err) || errors.As(err, &tokenErr) {
		return false
	}
	if resp := responseOf(err); resp != nil {
		return resp.StatusCode >= http.StatusInternalServerError
	}
	return true
}

// refreshingTransport sends through an installation token transport and,
// when GitHub rejects the token with 401 Bad credentials, mints a new
// token and sends the request again, at most tokenAttempts times in all. A
// token can stop working before the expiry ghinstallation keeps, for
// example when it was revoked or the local clock runs behind GitHub's, and
// ghinstallation would otherwise reuse it until that expiry. Concurrent
// requests share the token a refresh mints, so a request can meet a token
// that another request's refresh had already replaced. Each attempt uses a
// newer token than the last.
type refreshingTransport struct {
	newTransport func() *ghinstallation.Transport

	mu      sync.Mutex
	current *ghinstallation.Transport
}

// tokenAttempts bounds the tokens one request tries. A 401 with every one
// of them means the credentials are wrong, not stale.
const tokenAttempts = 3

func newRefreshingTransport(newTransport func() *ghinstallation.Transport) *refreshingTransport {
	return &refreshingTransport{newTransport: newTransport, current: newTransport()}
}

func (t *refreshingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	used := t.current
	t.mu.Unlock()

	send := req
	for attempt := 1; ; attempt++ {
		resp, err := used.RoundTrip(send)
		if err != nil || resp.StatusCode != http.StatusUnauthorized || attempt == tokenAttempts {
			return resp, err
		}
		again, ok := rewindRequest(req)
		if !ok {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		send, used = again, t.replace(used)
	}
}

// rewindRequest returns a copy of req with a fresh body, and false when the
// body cannot be read again.
func rewindRequest(req *http.Request) (*http.Request, bool) {
	again := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return again, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	again.Body = body
	return again, true
}

// replace swaps the transport whose token got a 401 for one with no token
// yet, so the next request mints one, and returns the current transport.
// When another request has swapped it already, the current one is kept.
func (t *refreshingTransport) replace(stale *ghinstallation.Transport) *ghinstallation.Transport {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.current == stale {
		t.current = t.newTransport()
	}
	return t.current
}
