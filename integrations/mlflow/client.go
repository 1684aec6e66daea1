package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// apiPath is the REST API path below the server root.
const apiPath = "/api/2.0/mlflow/"

// defaultTimeout bounds a request whose context has no deadline.
const defaultTimeout = 30 * time.Second

// maxResponseBytes caps how much of a response body the client reads.
const maxResponseBytes = 32 << 20

// maxErrorMessage caps how much of a non-JSON error body goes into an
// APIError.
const maxErrorMessage = 200

// Config configures a Client.
type Config struct {
	// BaseURL is the tracking server root, such as "http://mlflow:5000". A
	// trailing "/api/2.0/mlflow" is accepted and removed.
	BaseURL string
	// UIURL is the web UI root that ModelURL links to. It defaults to
	// BaseURL without the API path.
	UIURL string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// Username and Password, when Username is set, are sent as HTTP basic
	// authentication. They cannot be combined with Token.
	Username string
	Password string
	// HTTPClient sends every request. It defaults to a client with a
	// 30-second timeout, which bounds one call with its retries.
	HTTPClient *http.Client
	// Retry sets how often and how long a failed request is retried. The
	// zero value takes httpretry's defaults.
	Retry httpretry.Settings
}

// Client calls the MLflow model registry, run and artifact endpoints of a
// tracking server. It is safe for concurrent use.
type Client struct {
	rootURL    string
	apiURL     string
	uiURL      string
	cfg        Config
	httpClient *http.Client
}

// New validates cfg, fills in its defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	root, err := serverRoot(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.Token != "" && (cfg.Username != "" || cfg.Password != "") {
		return nil, errors.New("invalid MLflow config: set either Token or Username and Password, not both")
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("invalid MLflow config: Password is set without Username")
	}

	uiURL := strings.TrimSuffix(cfg.UIURL, "/")
	if uiURL == "" {
		uiURL = root
	}

	httpClient := &http.Client{Timeout: defaultTimeout}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		httpClient = &copied
	}
	httpClient.Transport = httpretry.New(httpClient.Transport, cfg.Retry, retryRules())
	return &Client{rootURL: root, apiURL: root + apiPath, uiURL: uiURL, cfg: cfg, httpClient: httpClient}, nil
}

// serverRoot validates raw and returns it without a trailing slash or API
// path.
func serverRoot(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid MLflow BaseURL %q: want an absolute http or https URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid MLflow BaseURL %q: remove the query or fragment", raw)
	}

	root := strings.TrimSuffix(raw, "/")
	root = strings.TrimSuffix(root, strings.TrimSuffix(apiPath, "/"))
	return root, nil
}

// ModelURL returns the registry UI address of a model version.
func (c *Client) ModelURL(name, version string) string {
	return c.uiURL + "/#/models/" + url.PathEscape(name) + "/versions/" + url.PathEscape(version)
}

// get sends GET endpoint?query and decodes the response into out.
func (c *Client) get(ctx context.Context, endpoint string, query url.Values, out any) error {
	target := c.apiURL + endpoint
	if len(query) > 0 {
		target += "?" + query.Encode()
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

// post sends body as JSON to endpoint and decodes the response into out.
func (c *Client) post(ctx context.Context, endpoint string, body, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding request: %w", err)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+endpoint, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}

func (c *Client) do(req *http.Request, out any) error {
	req.Header.Set("Accept", "application/json")
	c.authorize(req)

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("reading response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeAPIError(resp, body)
	}

	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	return nil
}

func (c *Client) authorize(req *http.Request) {
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	case c.cfg.Username != "":
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
}

// decodeAPIError builds an APIError from an MLflow error body, or from the
// start of any other body, with the response's Retry-After.
func decodeAPIError(resp *http.Response, body []byte) *APIError {
	status := resp.StatusCode
	retryAfter, _ := httpretry.ParseRetryAfter(resp.Header, time.Now())
	var wire struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(body, &wire); err == nil && wire.ErrorCode != "" {
		return &APIError{StatusCode: status, Code: wire.ErrorCode, Message: wire.Message, RetryAfter: retryAfter}
	}

	message := strings.TrimSpace(string(body))
	if len(message) > maxErrorMessage {
		message = message[:maxErrorMessage] + "…"
	}
	if message == "" {
		message = http.StatusText(status)
	}
	return &APIError{StatusCode: status, Message: message, RetryAfter: retryAfter}
}
