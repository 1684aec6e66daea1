package kfp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/kfp/kfpfake"
)

// wireRequest is one request as the client sent it.
type wireRequest struct {
	Method        string
	Path          string
	Query         string
	ContentType   string
	Authorization string
	Body          string
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
		Method:        req.Method,
		Path:          req.URL.Path,
		Query:         req.URL.RawQuery,
		ContentType:   req.Header.Get("Content-Type"),
		Authorization: req.Header.Get("Authorization"),
		Body:          string(body),
	})
	w.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (w *wireRecorder) sent() []wireRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]wireRequest(nil), w.requests...)
}

// startFake starts a fake run service and a client aimed at it that
// records what it sends.
func startFake(t *testing.T, cfg kfp.Config) (*kfpfake.Fake, *kfp.Client, *wireRecorder) {
	t.Helper()
	fake := kfpfake.New()
	fake.Start()
	t.Cleanup(fake.Close)

	recorder := &wireRecorder{}
	cfg.BaseURL = fake.URL()
	cfg.HTTPClient = &http.Client{Transport: recorder}
	client, err := kfp.New(cfg)
	require.NoError(t, err)
	return fake, client, recorder
}

func TestNewValidatesBaseURL(t *testing.T) {
	tests := []struct {
		name    string
		baseURL string
		wantErr string
	}{
		{"empty", "", "want an absolute http or https URL"},
		{"relative", "ml-pipeline:8888", "want an absolute http or https URL"},
		{"other scheme", "ftp://ml-pipeline", "want an absolute http or https URL"},
		{"query", "http://ml-pipeline:8888/?x=1", "remove the query or fragment"},
		{"fragment", "http://ml-pipeline:8888/#/runs", "remove the query or fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kfp.New(kfp.Config{BaseURL: tt.baseURL})

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestNewRejectsTokenControlCharacters(t *testing.T) {
	for _, token := range []string{"abc\r\nX-Injected: 1", "abc\x00def", "abc\tdef"} {
		_, err := kfp.New(kfp.Config{BaseURL: "http://ml-pipeline:8888", Token: token})

		require.Error(t, err)
		assert.NotContains(t, err.Error(), "abc")
	}
}

func TestNewAcceptsAPIPathInBaseURL(t *testing.T) {
	fake := kfpfake.New()
	fake.Start()
	t.Cleanup(fake.Close)
	added := fake.AddRun(kfp.Run{DisplayName: "nightly"})

	for _, suffix := range []string{"", "/", "/apis/v2beta1", "/apis/v2beta1/"} {
		t.Run("suffix "+suffix, func(t *testing.T) {
			client, err := kfp.New(kfp.Config{BaseURL: fake.URL() + suffix})
			require.NoError(t, err)

			run, err := client.GetRun(context.Background(), added.ID)

			require.NoError(t, err)
			assert.Equal(t, added.ID, run.ID)
		})
	}
}

func TestRunURL(t *testing.T) {
	tests := []struct {
		name  string
		cfg   kfp.Config
		runID string
		want  string
	}{
		{"ui url", kfp.Config{BaseURL: "http://ml-pipeline:8888", UIURL: "https://kubeflow.example.com/pipeline"},
			"run-1", "https://kubeflow.example.com/pipeline/#/runs/details/run-1"},
		{"ui url trailing slash", kfp.Config{BaseURL: "http://ml-pipeline:8888", UIURL: "https://kubeflow.example.com/"},
			"run-1", "https://kubeflow.example.com/#/runs/details/run-1"},
		{"base url fallback", kfp.Config{BaseURL: "http://ml-pipeline:8888/apis/v2beta1"},
			"run-1", "http://ml-pipeline:8888/#/runs/details/run-1"},
		{"escaped id", kfp.Config{BaseURL: "http://ml-pipeline:8888"},
			"a/b c", "http://ml-pipeline:8888/#/runs/details/a%2Fb%20c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, err := kfp.New(tt.cfg)
			require.NoError(t, err)

			assert.Equal(t, tt.want, client.RunURL(tt.runID))
		})
	}
}

func TestConfigStringHidesToken(t *testing.T) {
	cfg := kfp.Config{BaseURL: "http://ml-pipeline:8888", Token: "s3cret-token", Namespace: "team-a"}

	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		t.Run(verb, func(t *testing.T) {
			text := fmt.Sprintf(verb, cfg)

			assert.NotContains(t, text, "s3cret-token")
			assert.Contains(t, text, "[REDACTED]")
			assert.Contains(t, text, "team-a")
		})
	}
}

func TestTokenSentAsBearer(t *testing.T) {
	fake, client, recorder := startFake(t, kfp.Config{Token: "s3cret-token"})
	fake.RequireToken("s3cret-token")
	added := fake.AddRun(kfp.Run{DisplayName: "nightly"})

	_, err := client.GetRun(context.Background(), added.ID)

	require.NoError(t, err)
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "Bearer s3cret-token", sent[0].Authorization)
}

func TestWrongTokenNotInError(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{Token: "wrong-token"})
	fake.RequireToken("s3cret-token")

	_, err := client.GetRun(context.Background(), "run-0001")

	var apiErr *kfp.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Equal(t, kfp.CodeUnauthenticated, apiErr.Code)
	assert.True(t, kfp.IsPermanent(err))
	assert.NotContains(t, err.Error(), "wrong-token")
	assert.Equal(t, []string{"GET runs/run-0001 → 401 UNAUTHENTICATED"}, fake.Calls())
}

func TestEchoedTokenRedacted(t *testing.T) {
	tests := []struct {
		name string
		body func(authorization string) string
	}{
		{"rpc status", func(authorization string) string {
			return `{"code":16,"message":"bad header ` + authorization + `","details":[]}`
		}},
		{"plain text", func(authorization string) string { return "bad header " + authorization }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, tt.body(r.Header.Get("Authorization")))
			}))
			defer server.Close()
			client, err := kfp.New(kfp.Config{BaseURL: server.URL, Token: "s3cret-token"})
			require.NoError(t, err)

			_, err = client.GetRun(context.Background(), "run-1")

			require.Error(t, err)
			assert.NotContains(t, err.Error(), "s3cret-token")
			assert.Contains(t, err.Error(), "Bearer [REDACTED]")
		})
	}
}

func TestRequestHonoursContext(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	added := fake.AddRun(kfp.Run{DisplayName: "nightly"})
	release := fake.Hold("GET runs/{run_id}")
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	_, err := client.GetRun(ctx, added.ID)

	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, kfp.IsPermanent(err))
}
