package mlflow_test

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/httpretry"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
)

// wireRequest is one request as the client sent it.
type wireRequest struct {
	Method      string
	Path        string
	Query       string
	ContentType string
	Body        string
}

// wireRecorder is a RoundTripper that keeps a copy of each request before
// sending it on to the loopback fake.
type wireRecorder struct {
	mu       sync.Mutex
	requests []wireRequest
}

func (w *wireRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}

	w.mu.Lock()
	w.requests = append(w.requests, wireRequest{
		Method:      req.Method,
		Path:        req.URL.Path,
		Query:       req.URL.RawQuery,
		ContentType: req.Header.Get("Content-Type"),
		Body:        string(body),
	})
	w.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (w *wireRecorder) sent() []wireRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]wireRequest(nil), w.requests...)
}

// startRegistry starts a fake registry and a client aimed at it that
// records what it sends.
func startRegistry(t *testing.T) (*mlflowfake.Fake, *mlflow.Client, *wireRecorder) {
	t.Helper()
	return startRegistryWith(t, httpretry.Settings{})
}

// startRegistryNoRetry is startRegistry with a client that sends each
// request once, so a test sees the error of each injected failure.
func startRegistryNoRetry(t *testing.T) (*mlflowfake.Fake, *mlflow.Client, *wireRecorder) {
	t.Helper()
	return startRegistryWith(t, httpretry.Settings{MaxAttempts: 1})
}

func startRegistryWith(t *testing.T, settings httpretry.Settings) (*mlflowfake.Fake, *mlflow.Client, *wireRecorder) {
	t.Helper()
	fake := mlflowfake.New()
	fake.Start()
	t.Cleanup(fake.Close)

	recorder := &wireRecorder{}
	client, err := mlflow.New(mlflow.Config{
		BaseURL:    fake.URL(),
		HTTPClient: &http.Client{Transport: recorder},
		Retry:      settings,
	})
	require.NoError(t, err)
	return fake, client, recorder
}
