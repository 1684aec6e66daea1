package githubfake

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

// documentationURL is the documentation_url GitHub puts in error bodies.
const documentationURL = "https://docs.github.com/rest"

// maxJWTLifetime is the longest app JWT GitHub accepts.
const maxJWTLifetime = 10 * time.Minute

// tokenLifetime is how long an installation token lives on GitHub.
const tokenLifetime = time.Hour

// call is the record of one request, completed by its handler.
type call struct {
	method string
	path   string // without PathPrefix
	query  string
	detail string
}

type callKey struct{}

// setDetail adds a handler's summary of the request to its call record.
func setDetail(r *http.Request, format string, args ...any) {
	if c, ok := r.Context().Value(callKey{}).(*call); ok {
		c.detail = fmt.Sprintf(format, args...)
	}
}

// setCallPath replaces the path in a request's call record, such as to show
// a commit SHA in its short form.
func setCallPath(r *http.Request, path string) {
	if c, ok := r.Context().Value(callKey{}).(*call); ok {
		c.path = path
	}
}

// String renders the call as "METHOD /path?query detail -> status", leaving
// out the parts that are empty and the status when it is below 400.
func (c *call) String(status int) string {
	var b strings.Builder
	b.WriteString(c.method + " " + c.path)
	if c.query != "" {
		b.WriteString("?" + c.query)
	}
	if c.detail != "" {
		b.WriteString(" " + c.detail)
	}
	if status >= 400 {
		fmt.Fprintf(&b, " -> %d", status)
	}
	return b.String()
}

// statusRecorder captures the status code a handler writes.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// ServeHTTP passes the request through the fault injector, when
// InjectFaults set one, to serveAPI.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := f.faulty.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	f.serveAPI(w, r)
}

// serveAPI strips PathPrefix, applies the faults of FailNext, routes the
// request and records it.
func (f *Fake) serveAPI(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, f.prefix)
	if !ok || !strings.HasPrefix(path, "/") {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}

	c := &call{method: r.Method, path: path, query: r.URL.Query().Encode()}
	rec := &statusRecorder{ResponseWriter: w}
	defer func() { f.record(c.String(rec.status)) }()

	if status, ok := f.takeFault(r.Method, path); ok {
		writeFault(rec, status)
		return
	}

	routed := r.Clone(context.WithValue(r.Context(), callKey{}, c))
	routed.URL.Path = path
	routed.URL.RawPath = ""
	f.mux.ServeHTTP(rec, routed)
}

func (f *Fake) record(entry string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, entry)
}

// Calls returns the requests received since the last ResetCalls, oldest
// first.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// CallCount returns the number of requests received since the last
// ResetCalls.
func (f *Fake) CallCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// ResetCalls clears the recorded requests.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// fault makes the next remaining requests that match fail with status.
type fault struct {
	method    string
	prefix    string
	status    int
	remaining int
}

// FailNext makes the next n requests whose method is method (any method
// when empty) and whose path, without PathPrefix, starts with pathPrefix
// fail with status before authentication. Faults are matched in the order
// they were added.
func (f *Fake) FailNext(method, pathPrefix string, status, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &fault{method: strings.ToUpper(method), prefix: pathPrefix, status: status, remaining: n})
}

// takeFault consumes one use of the first fault that matches.
func (f *Fake) takeFault(method, path string) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, flt := range f.faults {
		if (flt.method != "" && flt.method != method) || !strings.HasPrefix(path, flt.prefix) {
			continue
		}
		flt.remaining--
		if flt.remaining <= 0 {
			f.faults = append(f.faults[:i], f.faults[i+1:]...)
		}
		return flt.status, true
	}
	return 0, false
}

// writeFault writes the error body GitHub sends for status. A 429 gets a
// one-second Retry-After, as GitHub's secondary rate limit does.
func writeFault(w http.ResponseWriter, status int) {
	message := http.StatusText(status)
	switch status {
	case http.StatusUnauthorized:
		message = "Bad credentials"
	case http.StatusForbidden:
		message = "Resource not accessible by integration"
	case http.StatusUnprocessableEntity:
		message = "Validation Failed"
	case http.StatusTooManyRequests:
		message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, status, message)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError writes GitHub's error body {"message", "documentation_url"}.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{"message": message, "documentation_url": documentationURL})
}

// writeValidationFailed writes a 422 naming the missing or invalid field.
func writeValidationFailed(w http.ResponseWriter, resource, field, code string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []any{map[string]any{"resource": resource, "field": field, "code": code}},
		"documentation_url": documentationURL,
	})
}

// writeValidationMessage writes a 422 whose error has code "custom" and
// a message, as GitHub sends for a value that breaks a rule.
func writeValidationMessage(w http.ResponseWriter, resource, field, message string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []any{map[string]any{"resource": resource, "field": field, "code": "custom", "message": message}},
		"documentation_url": documentationURL,
	})
}

// decodeBody decodes a JSON request body and writes 400 when it is invalid.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// withAppJWT serves h only when the request carries a valid app JWT.
func (f *Fake) withAppJWT(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f.verifyAppJWT(r.Header.Get("Authorization")); err != nil {
			writeError(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		h(w, r)
	}
}

// verifyAppJWT checks an "Authorization: Bearer <jwt>" header: RS256 signed
// by the app key, issuer equal to the app id, at most ten minutes to expiry.
func (f *Fake) verifyAppJWT(header string) error {
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return errors.New("authorization is not a bearer token")
	}

	claims := &jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(token *jwt.Token) (any, error) {
		if token.Method != jwt.SigningMethodRS256 {
			return nil, fmt.Errorf("signing method %s is not RS256", token.Method.Alg())
		}
		return f.opts.PublicKey, nil
	})
	if err != nil {
		return err
	}

	if claims.Issuer != strconv.FormatInt(f.opts.AppID, 10) {
		return fmt.Errorf("issuer %q is not app %d", claims.Issuer, f.opts.AppID)
	}
	if claims.ExpiresAt == nil || time.Until(claims.ExpiresAt.Time) > maxJWTLifetime {
		return errors.New("expiry is missing or more than ten minutes away")
	}
	return nil
}

// withInstallationToken serves h only when the request carries an
// installation token the fake issued and has not revoked.
func (f *Fake) withInstallationToken(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !f.validToken(r.Header.Get("Authorization")) {
			writeError(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		h(w, r)
	}
}

// validToken accepts "token <t>" and "Bearer <t>", as GitHub does.
func (f *Fake) validToken(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || (!strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "bearer")) {
		return false
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	expiry, ok := f.tokens[token]
	return ok && time.Now().Before(expiry)
}

// issueToken returns a new installation token and its expiry.
func (f *Fake) issueToken() (string, time.Time) {
	token := "ghs_" + rand.Text()
	expiry := time.Now().Add(tokenLifetime).UTC().Truncate(time.Second)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[token] = expiry
	return token, expiry
}

// withRepo serves h only for the configured owner and repository. Like
// GitHub, it returns 404 for a repository the installation cannot see.
func (f *Fake) withRepo(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.PathValue("owner"), f.opts.Owner) || !strings.EqualFold(r.PathValue("repo"), f.opts.Repo) {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		h(w, r)
	}
}
