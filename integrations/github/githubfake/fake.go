package githubfake

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sopbot/sopbot/internal/faults"
)

// Options configures a [Fake].
type Options struct {
	// AppID is the GitHub App id the JWT issuer must equal.
	AppID int64
	// PublicKey verifies the RS256 app JWT.
	PublicKey *rsa.PublicKey
	// InstallationID is the only installation the fake issues tokens for.
	InstallationID int64
	// Owner and Repo name the only repository the fake serves.
	Owner, Repo string
	// BotLogin is the author of issues and comments created through the
	// API, such as "sopbot[bot]".
	BotLogin string
	// WebhookURL receives deliveries. When empty, deliveries wait in the
	// queue until SetWebhookURL is called. It must be a loopback address.
	WebhookURL string
	// WebhookSecret signs deliveries. It must not be empty.
	WebhookSecret []byte
	// Teams maps "org/slug" to the logins that are active members.
	Teams map[string][]string
	// Addr is the listen address, "127.0.0.1:0" when empty. Its host
	// must be a loopback IP address.
	Addr string
	// PathPrefix serves the API under a path, such as "/api/v3/" for a
	// GitHub Enterprise Server layout. Empty serves it at the root.
	PathPrefix string
	// Clock returns the time stamped on issues, comments, reviews and
	// commit statuses, time.Now when nil. The fake may call it while
	// holding its lock, so it must not call the fake. Token expiry and JWT
	// checks always use the real time.
	Clock func() time.Time
}

// Fake is an in-process GitHub REST API and webhook sender.
// Its methods are safe for concurrent use.
type Fake struct {
	opts   Options
	prefix string // PathPrefix without a trailing slash, "" for the root
	server *httptest.Server
	mux    *http.ServeMux
	sender *http.Client
	faulty atomic.Pointer[http.Handler] // serveAPI behind InjectFaults' injector

	stopSender context.CancelFunc
	senderDone chan struct{}
	closeOnce  sync.Once

	mu         sync.Mutex
	webhookURL string
	teams      map[string][]string
	tokens     map[string]time.Time // installation token to expiry
	issues     map[int]*issue
	comments   []*comment                 // ordered by id
	statuses   map[string][]*commitStatus // by commit SHA, oldest first
	nextNumber int
	nextID     int64 // shared by comments, reviews, check runs and commit statuses
	calls      []string
	faults     []*fault
	deliveries []Delivery
	queue      []int // indexes into deliveries, oldest first
	suppress   int   // deliveries still to record without sending
	inFlight   bool
	changed    chan struct{} // closed and replaced on every queue change
}

// New validates opts and returns a fake that is not yet listening.
func New(opts Options) (*Fake, error) {
	if err := validateOptions(opts); err != nil {
		return nil, err
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}

	f := &Fake{
		opts:       opts,
		prefix:     strings.TrimRight(opts.PathPrefix, "/"),
		sender:     newLoopbackClient(),
		webhookURL: opts.WebhookURL,
		teams:      make(map[string][]string),
		tokens:     make(map[string]time.Time),
		issues:     make(map[int]*issue),
		statuses:   make(map[string][]*commitStatus),
		nextNumber: 1,
		nextID:     1000001,
		changed:    make(chan struct{}),
	}
	for team, logins := range opts.Teams {
		f.teams[strings.ToLower(team)] = append([]string(nil), logins...)
	}
	f.mux = f.routes()
	return f, nil
}

// validateOptions reports every invalid option at once.
func validateOptions(opts Options) error {
	var problems []string
	if opts.AppID <= 0 {
		problems = append(problems, "app id is missing")
	}
	if opts.PublicKey == nil {
		problems = append(problems, "public key is missing")
	}
	if opts.InstallationID <= 0 {
		problems = append(problems, "installation id is missing")
	}
	if opts.Owner == "" || opts.Repo == "" {
		problems = append(problems, "repository owner and name are required")
	}
	if opts.BotLogin == "" {
		problems = append(problems, "bot login is missing")
	}
	if len(opts.WebhookSecret) == 0 {
		problems = append(problems, "webhook secret is missing")
	}
	if err := validateWebhookURL(opts.WebhookURL); err != nil {
		problems = append(problems, err.Error())
	}
	if err := validateListenAddr(opts.Addr); err != nil {
		problems = append(problems, err.Error())
	}
	if opts.PathPrefix != "" && !strings.HasPrefix(opts.PathPrefix, "/") {
		problems = append(problems, fmt.Sprintf("path prefix %q must start with /", opts.PathPrefix))
	}

	if len(problems) > 0 {
		return fmt.Errorf("invalid githubfake options: %s", strings.Join(problems, ", "))
	}
	return nil
}

// validateListenAddr accepts only loopback IP addresses, so the fake is
// never reachable from another host.
func validateListenAddr(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q is invalid: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("listen address %q is invalid: want a loopback IP such as 127.0.0.1", addr)
	}
	return nil
}

// Start listens on the configured loopback address and starts the webhook
// sender.
func (f *Fake) Start() error {
	if f.server != nil {
		return errors.New("starting githubfake: already started")
	}
	listener, err := net.Listen("tcp", f.opts.Addr)
	if err != nil {
		return fmt.Errorf("starting githubfake on %s: %w", f.opts.Addr, err)
	}

	f.server = httptest.NewUnstartedServer(f)
	f.server.Listener = listener
	f.server.Start()

	ctx, cancel := context.WithCancel(context.Background())
	f.stopSender = cancel
	f.senderDone = make(chan struct{})
	go f.runSender(ctx)
	return nil
}

// Close stops the webhook sender, drops undelivered deliveries and shuts
// the server down. It is safe to call more than once.
func (f *Fake) Close() {
	f.closeOnce.Do(func() {
		if f.server == nil {
			return
		}
		f.stopSender()
		<-f.senderDone
		f.server.Close()
		f.sender.CloseIdleConnections()
	})
}

// URL returns the API root with a trailing slash, such as
// "http://127.0.0.1:41234/", including PathPrefix. It is empty before Start.
func (f *Fake) URL() string {
	if f.server == nil {
		return ""
	}
	return f.server.URL + f.prefix + "/"
}

// SetWebhookURL sets where deliveries go and releases any queued ones.
// The URL must be an http or https URL on a loopback host.
func (f *Fake) SetWebhookURL(webhookURL string) error {
	if err := validateWebhookURL(webhookURL); err != nil {
		return err
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.webhookURL = webhookURL
	f.broadcastLocked()
	return nil
}

// SetTeamMembers replaces the active members of team "org/slug".
func (f *Fake) SetTeamMembers(team string, logins []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.teams[strings.ToLower(team)] = append([]string(nil), logins...)
}

// RevokeTokens invalidates every installation token issued so far, so the
// next API call with one of them gets 401 Bad credentials.
func (f *Fake) RevokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.tokens)
}

// InjectFaults makes a share of the API requests fail as cfg describes,
// with GitHub's error bodies, and returns the injector that records them.
// It replaces any injector set before. Webhook deliveries are not
// affected.
func (f *Fake) InjectFaults(cfg faults.Config) *faults.Injector {
	cfg.Flavor = faults.GitHub
	injector := faults.New(cfg)
	h := injector.Wrap(http.HandlerFunc(f.serveAPI))
	f.faulty.Store(&h)
	return injector
}
