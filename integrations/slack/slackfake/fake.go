package slackfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"

	"github.com/sopbot/sopbot/internal/faults"
)

// Timestamp is the ts of the first message posted to a Fake. Each later
// message gets the next microsecond: "1700000000.000101", and so on.
const Timestamp = "1700000000.000100"

// firstTSMicros is the microsecond part of Timestamp.
const firstTSMicros = 100

// Options configures a Fake.
type Options struct {
	// BotToken is the token every Web API method accepts. When empty, any
	// non-empty token is accepted.
	BotToken string
}

// PostedMessage is a message accepted by chat.postMessage or an edit
// accepted by chat.update.
type PostedMessage struct {
	Channel string
	// TS is the message's ts: the one the fake assigned to a posted
	// message, or the one an update named.
	TS   string
	Text string
	// Blocks is the Block Kit JSON as sent, or nil without blocks.
	Blocks json.RawMessage
	// Metadata is the message metadata JSON as sent to chat.postMessage,
	// or nil without metadata.
	Metadata json.RawMessage
}

// Response is a message accepted at a response URL.
type Response struct {
	URL             string
	ResponseType    string
	Text            string
	ReplaceOriginal bool
	// Body is the request body exactly as received.
	Body json.RawMessage
}

// Fake is a Slack Web API and response URL server on 127.0.0.1. It is safe
// for concurrent use.
type Fake struct {
	opts   Options
	server *httptest.Server
	faulty atomic.Pointer[http.Handler] // serveHTTP behind InjectFaults' injector

	mu           sync.Mutex
	calls        []string
	messages     []PostedMessage
	updates      []PostedMessage
	views        []json.RawMessage
	responses    []Response
	responseURLs map[string]string // path to label, such as "r1"
	failures     map[string]*failure
	// users maps a Slack user ID to the email that users.info returns.
	users map[string]string
	// usedTriggers are the trigger_id values views.open has accepted.
	usedTriggers map[string]bool
}

// failure is a fault injected by FailNext.
type failure struct {
	status    int
	remaining int
}

// New returns a Fake that is not yet listening. Call Start before use.
func New(opts Options) *Fake {
	return &Fake{
		opts:         opts,
		responseURLs: map[string]string{},
		failures:     map[string]*failure{},
		users:        map[string]string{},
		usedTriggers: map[string]bool{},
	}
}

// Start listens on a random port of 127.0.0.1. It panics if it cannot
// listen, as httptest does.
func (f *Fake) Start() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("slackfake: listening on 127.0.0.1: %v", err))
	}

	f.server = httptest.NewUnstartedServer(http.HandlerFunc(f.serveMaybeFaulty))
	f.server.Listener = listener
	f.server.Start()
}

// InjectFaults makes a share of the requests, to the Web API and to
// response URLs, fail as cfg describes, with Slack's error bodies, and
// returns the injector that records them. It replaces any injector set
// before.
func (f *Fake) InjectFaults(cfg faults.Config) *faults.Injector {
	cfg.Flavor = faults.Slack
	injector := faults.New(cfg)
	h := injector.Wrap(http.HandlerFunc(f.serveHTTP))
	f.faulty.Store(&h)
	return injector
}

// serveMaybeFaulty passes the request through the injector, when
// InjectFaults set one, to serveHTTP.
func (f *Fake) serveMaybeFaulty(w http.ResponseWriter, r *http.Request) {
	if h := f.faulty.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	f.serveHTTP(w, r)
}

// Close stops the server.
func (f *Fake) Close() {
	if f.server != nil {
		f.server.Close()
	}
}

// URL returns the Web API base URL, "http://127.0.0.1:<port>/api/".
func (f *Fake) URL() string {
	return f.server.URL + "/api/"
}

// ResponseURLPrefix returns the prefix of every URL from NewResponseURL, for
// use as an allowed response_url prefix.
func (f *Fake) ResponseURLPrefix() string {
	return f.server.URL + "/response/"
}

// NewResponseURL registers and returns a new response URL,
// "http://127.0.0.1:<port>/response/<random hex>". Calls name it r1, r2, …
// in the order of creation.
func (f *Fake) NewResponseURL() string {
	random := make([]byte, 12)
	_, _ = rand.Read(random) // crypto/rand.Read never returns an error.
	path := "/response/" + hex.EncodeToString(random)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.responseURLs[path] = fmt.Sprintf("r%d", len(f.responseURLs)+1)
	return f.server.URL + path
}

// FailNext makes the next n requests to path fail with status before any
// other handling. path is a URL path such as "/api/chat.postMessage" or the
// path of a URL from NewResponseURL. A 429 carries "Retry-After: 1".
func (f *Fake) FailNext(path string, status int, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[path] = &failure{status: status, remaining: n}
}

// SetUser makes users.info return a user with id and, unless email is
// empty, that email in its profile. An empty email is what Slack returns to a
// token without the users:read.email scope. Other IDs get user_not_found.
func (f *Fake) SetUser(id, email string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[id] = email
}

// Messages returns the messages accepted by chat.postMessage as they were
// posted, oldest first. Updates do not change them.
func (f *Fake) Messages() []PostedMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]PostedMessage(nil), f.messages...)
}

// Updates returns the edits accepted by chat.update, oldest first.
func (f *Fake) Updates() []PostedMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]PostedMessage(nil), f.updates...)
}

// Views returns the view JSON of each modal that views.open accepted, as
// sent, oldest first.
func (f *Fake) Views() []json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]json.RawMessage(nil), f.views...)
}

// Responses returns the messages accepted at response URLs, oldest first.
func (f *Fake) Responses() []Response {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Response(nil), f.responses...)
}

// Calls returns one readable line per request received, rejected ones
// included, oldest first. Examples:
//
//	chat.postMessage C0123 "Promoted fraud-detector v3"
//	chat.postMessage C0123 "hi" → invalid_auth
//	chat.update C0123 1700000000.000100 "Approved"
//	views.open sopbot_reject_reason
//	users.info U0DANA → user_not_found
//	response r1 ephemeral "Approval request opened"
//	POST /api/chat.postMessage → 503 (injected)
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// CallCount returns the number of requests received.
func (f *Fake) CallCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *Fake) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

// takeFailure consumes one injected failure for path, if any is left.
func (f *Fake) takeFailure(path string) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()

	injected, ok := f.failures[path]
	if !ok || injected.remaining <= 0 {
		return 0, false
	}
	injected.remaining--
	return injected.status, true
}
