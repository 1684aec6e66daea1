package slack

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// DefaultAPIURL is the Slack Web API base that Config.APIURL defaults to.
const DefaultAPIURL = "https://slack.com/api/"

// DefaultResponseURLPrefix is the only response_url prefix allowed when
// Config.ResponseURLPrefixes is empty.
const DefaultResponseURLPrefix = "https://hooks.slack.com/"

// defaultTimeout bounds a request whose context has no deadline.
const defaultTimeout = 30 * time.Second

// Message is the content of a Slack message.
type Message struct {
	// Text is the message text in Slack's mrkdwn format. With Blocks set it
	// is the fallback shown in notifications.
	Text string
	// Ephemeral makes a response_url reply visible only to the user who ran
	// the command. Post ignores it.
	Ephemeral bool
	// ReplaceOriginal makes a response_url reply replace the message that
	// carried the interaction. Post ignores it.
	ReplaceOriginal bool
	// Blocks is an optional Block Kit layout.
	Blocks []slack.Block
}

// Config configures a Client.
type Config struct {
	// APIURL is the Web API base URL, ending in a slash. It defaults to
	// DefaultAPIURL.
	APIURL string
	// BotToken is the bot user OAuth token (xoxb-…) that Post sends.
	BotToken string
	// ResponseURLPrefixes lists the URL prefixes Respond may post to. Each
	// must be an absolute http or https URL whose path ends in a slash, so
	// that a prefix cannot match a look-alike host. It defaults to
	// DefaultResponseURLPrefix.
	ResponseURLPrefixes []string
	// HTTPClient sends every request. It defaults to a client with a
	// 30-second timeout, which bounds one call with its retries.
	HTTPClient *http.Client
	// Retry sets how often and how long a failed request is retried. The
	// zero value takes httpretry's defaults.
	Retry httpretry.Settings
}

// Client sends messages to Slack. It is safe for concurrent use.
type Client struct {
	api         *slack.Client
	webhookHTTP *http.Client
	prefixes    []allowedPrefix
	hasToken    bool
}

// allowedPrefix is a response_url prefix with its parsed scheme and host.
type allowedPrefix struct {
	raw    string
	scheme string
	host   string
}

// New validates cfg, fills in its defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	apiURL, err := normalizeAPIURL(cfg.APIURL)
	if err != nil {
		return nil, err
	}

	prefixes, err := parsePrefixes(cfg.ResponseURLPrefixes)
	if err != nil {
		return nil, err
	}

	httpClient := &http.Client{Timeout: defaultTimeout}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		httpClient = &copied
	}
	httpClient.Transport = httpretry.New(httpClient.Transport, cfg.Retry, retryRules())

	api := slack.New(cfg.BotToken, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(httpClient))
	client := &Client{
		api:         api,
		webhookHTTP: withoutRedirects(httpClient),
		prefixes:    prefixes,
		hasToken:    cfg.BotToken != "",
	}
	return client, nil
}

func normalizeAPIURL(raw string) (string, error) {
	if raw == "" {
		return DefaultAPIURL, nil
	}

	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid Slack API URL %q: want an absolute http or https URL", raw)
	}

	if !strings.HasSuffix(raw, "/") {
		raw += "/"
	}
	return raw, nil
}

func parsePrefixes(raw []string) ([]allowedPrefix, error) {
	if len(raw) == 0 {
		raw = []string{DefaultResponseURLPrefix}
	}

	prefixes := make([]allowedPrefix, 0, len(raw))
	var problems []error
	for _, prefix := range raw {
		parsed, err := parsePrefix(prefix)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		prefixes = append(prefixes, parsed)
	}

	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return prefixes, nil
}

func parsePrefix(raw string) (allowedPrefix, error) {
	u, err := url.Parse(raw)
	valid := err == nil && (u.Scheme == "http" || u.Scheme == "https") &&
		u.Host != "" && u.User == nil && strings.HasSuffix(u.Path, "/") &&
		u.RawQuery == "" && u.Fragment == ""
	if !valid {
		return allowedPrefix{}, fmt.Errorf(
			"invalid response_url prefix %q: want an absolute http or https URL whose path ends in a slash", raw)
	}
	return allowedPrefix{raw: raw, scheme: u.Scheme, host: u.Host}, nil
}

// withoutRedirects returns a copy of client that does not follow redirects,
// so a response_url cannot bounce a post to a host outside the prefixes.
func withoutRedirects(client *http.Client) *http.Client {
	copied := *client
	copied.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	return &copied
}
