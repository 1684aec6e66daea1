package github

import (
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/bradleyfalzon/ghinstallation/v2"
	jwt "github.com/golang-jwt/jwt/v4"
	gogithub "github.com/google/go-github/v60/github"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// DefaultBaseURL is the REST API root of github.com.
const DefaultBaseURL = "https://api.github.com/"

// userAgent is sent with every API request.
const userAgent = "sopbot"

// Config configures a [Client].
type Config struct {
	// BaseURL is the REST API root: DefaultBaseURL when empty, or a GitHub
	// Enterprise Server root such as "https://ghe.example.com/api/v3/".
	// The client adds a missing trailing slash and appends nothing else.
	BaseURL string
	// AppID is the numeric GitHub App id, the JWT issuer.
	AppID int64
	// PrivateKey is the app's RSA private key in PEM form (PKCS #1 or #8).
	PrivateKey []byte
	// Owner and Repo name the repository every call acts on.
	Owner, Repo string
	// HTTPClient optionally supplies the base transport and the timeout of
	// one call, retries included. http.DefaultTransport is used when it or
	// its Transport is nil.
	HTTPClient *http.Client
	// Retry sets how often and how long a failed request is retried. The
	// zero value takes httpretry's defaults.
	Retry httpretry.Settings
}

// Client calls the GitHub REST API as installations of one GitHub App.
// It is safe for concurrent use.
type Client struct {
	baseURL   *url.URL
	appID     int64
	key       *rsa.PrivateKey
	owner     string
	repo      string
	transport http.RoundTripper
	httpBase  *http.Client

	appClient *gogithub.Client

	mu            sync.Mutex
	installations map[int64]*gogithub.Client
}

// New validates cfg, parses the private key and returns a client.
// The error lists every invalid field at once. It never contains the key.
func New(cfg Config) (*Client, error) {
	base, key, err := validate(cfg)
	if err != nil {
		return nil, err
	}

	c := &Client{
		baseURL:       base,
		appID:         cfg.AppID,
		key:           key,
		owner:         cfg.Owner,
		repo:          cfg.Repo,
		transport:     http.DefaultTransport,
		httpBase:      cfg.HTTPClient,
		installations: make(map[int64]*gogithub.Client),
	}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		c.transport = cfg.HTTPClient.Transport
	}
	// Token requests go through the retries too: ghinstallation sends them
	// with the base transport.
	c.transport = httpretry.New(c.transport, cfg.Retry, retryRules())

	c.appClient = c.newAPIClient(c.newAppsTransport())
	return c, nil
}

// validate checks every field of cfg and returns the parsed base URL and key.
func validate(cfg Config) (*url.URL, *rsa.PrivateKey, error) {
	var problems []string

	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if cfg.AppID <= 0 {
		problems = append(problems, "app id is missing")
	}

	var key *rsa.PrivateKey
	if len(cfg.PrivateKey) == 0 {
		problems = append(problems, "private key is missing")
	} else if key, err = jwt.ParseRSAPrivateKeyFromPEM(cfg.PrivateKey); err != nil {
		// jwt v4's parse errors describe the encoding and contain no key bytes.
		problems = append(problems, fmt.Sprintf("private key is invalid: %v", err))
	}

	if cfg.Owner == "" {
		problems = append(problems, "repository owner is missing")
	}
	if cfg.Repo == "" {
		problems = append(problems, "repository name is missing")
	}

	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("invalid GitHub client config: %s", strings.Join(problems, ", "))
	}
	return base, key, nil
}

// parseBaseURL returns the API root with exactly one trailing slash.
func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		raw = DefaultBaseURL
	}

	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("base URL %q is invalid: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q is invalid: want an absolute http or https URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("base URL %q is invalid: it must not have a query or fragment", raw)
	}

	u.Path = strings.TrimRight(u.Path, "/") + "/"
	u.RawPath = ""
	return u, nil
}

// tokenBaseURL is the root that ghinstallation joins "/app/..." paths to.
// ghinstallation expects it without a trailing slash.
func (c *Client) tokenBaseURL() string {
	return strings.TrimRight(c.baseURL.String(), "/")
}

// newAppsTransport returns a transport that signs each request with a fresh
// app JWT. Each caller gets its own value because ghinstallation's
// installation transport writes to the AppsTransport it wraps on refresh.
func (c *Client) newAppsTransport() *ghinstallation.AppsTransport {
	atr := ghinstallation.NewAppsTransportFromPrivateKey(c.transport, c.appID, c.key)
	atr.BaseURL = c.tokenBaseURL()
	return atr
}

// newAPIClient returns a go-github client that sends through rt to the
// configured base URL.
func (c *Client) newAPIClient(rt http.RoundTripper) *gogithub.Client {
	httpClient := &http.Client{Transport: rt}
	if c.httpBase != nil {
		httpClient.Timeout = c.httpBase.Timeout
	}

	gh := gogithub.NewClient(httpClient)
	base := *c.baseURL
	gh.BaseURL = &base
	gh.UserAgent = userAgent
	return gh
}

// installation returns the cached client for installationID, creating it on
// first use.
func (c *Client) installation(installationID int64) (*gogithub.Client, error) {
	if installationID <= 0 {
		return nil, fmt.Errorf("installation id %d is invalid: want a positive id", installationID)
	}

	c.mu.Lock()
	defer c.mu.Unlock()

	if gh, ok := c.installations[installationID]; ok {
		return gh, nil
	}

	tokens := newRefreshingTransport(func() *ghinstallation.Transport {
		itr := ghinstallation.NewFromAppsTransport(c.newAppsTransport(), installationID)
		itr.BaseURL = c.tokenBaseURL()
		return itr
	})
	gh := c.newAPIClient(tokens)
	c.installations[installationID] = gh
	return gh, nil
}

// repoName returns "owner/repo" for error messages.
func (c *Client) repoName() string {
	return c.owner + "/" + c.repo
}
