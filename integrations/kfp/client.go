package kfp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// apiPath is the REST API path below the API server root.
const apiPath = "/apis/v2beta1/"

// defaultTimeout bounds a request whose context has no deadline.
const defaultTimeout = 30 * time.Second

// maxResponseBytes caps how much of a response body the client reads.
const maxResponseBytes = 32 << 20

// maxErrorMessage caps how much of a non-JSON error body goes into an
// APIError, in bytes.
const maxErrorMessage = 200

// redactedToken replaces the bearer token wherever a server echoes it.
const redactedToken = "[REDACTED]"

// Config configures a Client.
type Config struct {
	// BaseURL is the API server root, such as
	// "http://ml-pipeline.kubeflow:8888". A trailing "/apis/v2beta1" is
	// accepted and removed.
	BaseURL string
	// Token, when set, is sent as "Authorization: Bearer <Token>". String
	// and GoString print it as [REDACTED].
	Token string
	// UIURL is the root of the KFP web UI that RunURL links to, such as
	// "https://kubeflow.example.com/pipeline". It defaults to BaseURL.
	UIURL string
	// HTTPClient sends every request. It defaults to a client with a
	// 30-second timeout.
	HTTPClient *http.Client
	// Namespace is the Kubernetes namespace that FindRun lists runs in
	// when it is given no experiment ID.
	Namespace string
}

// String returns the settings with the token hidden, so that logging a
// Config does not leak it.
func (c Config) String() string {
	token := ""
	if c.Token != "" {
		token = redactedToken
	}
	return fmt.Sprintf("kfp.Config{BaseURL: %q, Token: %q, UIURL: %q, Namespace: %q}",
		c.BaseURL, token, c.UIURL, c.Namespace)
}

// GoString returns the same text as String, for the %#v verb.
func (c Config) GoString() string {
	return c.String()
}

// Client calls the run endpoints of a KFP API server. It is safe for
// concurrent use.
type Client struct {
	apiURL     string
	uiURL      string
	token      string
	namespace  string
	httpClient *http.Client
}

// New validates cfg, fills in its defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	root, err := serverRoot(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if strings.ContainsFunc(cfg.Token, unicode.IsControl) {
		return nil, fmt.Errorf("invalid KFP config: Token contains a control character such as a line break")
	}

	uiURL := strings.TrimSuffix(cfg.UIURL, "/")
	if uiURL == "" {
		uiURL = root
	}

	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{
		apiURL:     root + apiPath,
		uiURL:      uiURL,
		token:      cfg.Token,
		namespace:  cfg.Namespace,
		httpClient: httpClient,
	}, nil
}

// serverRoot validates raw and returns it without a trailing slash or API
// path.
func serverRoot(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid KFP BaseURL %q: want an absolute http or https URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid KFP BaseURL %q: remove the query or fragment", raw)
	}

	root := strings.TrimSuffix(raw, "/")
	root = strings.TrimSuffix(root, strings.TrimSuffix(apiPath, "/"))
	return root, nil
}

// RunURL returns the web UI address of the run runID.
func (c *Client) RunURL(runID string) string {
	return c.uiURL + "/#/runs/details/" + url.PathEscape(runID)
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

// post sends payload, already encoded as JSON, to endpoint and decodes the
// response into out.
func (c *Client) post(ctx context.Context, endpoint string, payload []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+endpoint, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}

func (c *Client) do(req *http.Request, out any) error {
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

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
		// The token is removed from the raw body, before a long body is
		// cut short, and again from the decoded message, where JSON
		// escapes may have hidden it.
		if c.token != "" {
			body = bytes.ReplaceAll(body, []byte(c.token), []byte(redactedToken))
		}
		apiErr := decodeAPIError(resp, body, time.Now())
		if c.token != "" {
			apiErr.Message = strings.ReplaceAll(apiErr.Message, c.token, redactedToken)
		}
		return apiErr
	}

	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	return nil
}
