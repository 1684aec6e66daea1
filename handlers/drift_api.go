package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sopbot/sopbot/bot"
)

// MaxDriftBody is the largest drift report accepted, 1 MiB.
const MaxDriftBody = 1 << 20

// maxDriftFeatures bounds the features of one report, and with them the
// series of the drift gauges.
const maxDriftFeatures = 1000

// maxFeatureName is the longest feature name accepted, in bytes.
const maxFeatureName = 200

// DriftRecorder records a detector's drift report in the caller's
// transaction, without network calls; *bot.Engine implements it.
type DriftRecorder interface {
	RecordDriftReport(ctx context.Context, tx *sql.Tx, r bot.DriftReport, p bot.RetrainPolicy) (bot.DriftDecision, error)
}

// driftModelName matches the model names that SOP parameters accept.
var driftModelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// driftBody is the wire form of a report. Scores stay raw so that each
// can be checked with its own message.
type driftBody struct {
	Model    *string        `json:"model"`
	Window   *driftWindow   `json:"window"`
	Features []driftFeature `json:"features"`
}

type driftWindow struct {
	Start *string `json:"start"`
	End   *string `json:"end"`
}

type driftFeature struct {
	Name        *string         `json:"name"`
	KSStatistic json.RawMessage `json:"ks_statistic"`
	KSPValue    json.RawMessage `json:"ks_pvalue"`
	PSI         json.RawMessage `json:"psi"`
	KL          json.RawMessage `json:"kl"`
}

// handleDriftReport takes a detector's report. It checks the bearer token
// in constant time, validates the report with a precise message for each
// problem, and records it with the decision it leads to, such as a
// retraining request opened, in one transaction before it responds.
func (s *Server) handleDriftReport(w http.ResponseWriter, r *http.Request) {
	if problemText := s.checkBearer(r.Header.Get("Authorization")); problemText != "" {
		s.Log.Warn("drift report rejected", "reason", "authorization", "remote_addr", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="sopbot"`)
		problem(w, http.StatusUnauthorized, problemText)
		return
	}
	if mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mediaType != "application/json" {
		s.Log.Info("drift report rejected", "reason", "content type", "content_type", clipText(r.Header.Get("Content-Type"), 60))
		problem(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxDriftBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		s.Log.Warn("drift report rejected", "reason", "body too large")
		problem(w, http.StatusRequestEntityTooLarge, "body exceeds 1 MiB")
		return
	}
	if err != nil {
		s.Log.Warn("drift report rejected", "reason", "reading body failed", "error", err)
		problem(w, http.StatusBadRequest, "reading body failed")
		return
	}
	report, policy, problemText := s.parseDriftReport(body)
	if problemText != "" {
		s.Log.Info("drift report rejected", "reason", "invalid", "problem", problemText)
		problem(w, http.StatusBadRequest, problemText)
		return
	}

	var decision bot.DriftDecision
	err = s.DB.InEdgeTx(r.Context(), func(tx *sql.Tx) error {
		var err error
		decision, err = s.Drift.RecordDriftReport(r.Context(), tx, report, policy)
		return err
	})
	if err != nil {
		s.Log.Error("storing drift report failed", "model", report.Model, "error", err)
		problem(w, http.StatusServiceUnavailable, "could not store the report; retry later")
		return
	}
	outcome := "received"
	if decision.Duplicate {
		outcome = "duplicate"
	}
	s.Metrics.Delivery("drift", "drift_report", outcome)
	s.Log.Info("drift report recorded", "model", report.Model, "outcome", decision.Outcome, "request", decision.Request,
		"duplicate", decision.Duplicate, "drifted_features", len(decision.Drifted))
	status := http.StatusOK
	if decision.Outcome == bot.DriftRequestOpened && !decision.Duplicate {
		status = http.StatusCreated
	}
	writeJSON(w, status, decision)
}

// checkBearer returns why an Authorization header does not carry the
// drift token, or "". Both sides are hashed first, so the comparison
// takes the same time whatever the length of the token sent.
func (s *Server) checkBearer(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "missing Authorization: Bearer <token> header"
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	want := sha256.Sum256(s.DriftToken)
	if len(s.DriftToken) == 0 || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return "invalid bearer token"
	}
	return ""
}

// parseDriftReport decodes and validates a report and finds the model's
// policy. It returns the first problem as a message for the sender.
func (s *Server) parseDriftReport(body []byte) (bot.DriftReport, bot.RetrainPolicy, string) {
	var wire driftBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wire); err != nil {
		return bot.DriftReport{}, bot.RetrainPolicy{}, jsonProblem(err, body)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bot.DriftReport{}, bot.RetrainPolicy{}, "body has data after the JSON object: send one report per request"
	}
	if problemText := checkFieldNames(body); problemText != "" {
		return bot.DriftReport{}, bot.RetrainPolicy{}, problemText
	}

	var report bot.DriftReport
	switch {
	case wire.Model == nil || *wire.Model == "":
		return report, bot.RetrainPolicy{}, "model is missing: give the registered model name"
	case !driftModelName.MatchString(*wire.Model):
		return report, bot.RetrainPolicy{}, fmt.Sprintf("model %q is not a model name: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", clipText(*wire.Model, 60))
	}
	report.Model = *wire.Model
	policy, ok := bot.RetrainPolicy{}, false
	if s.DriftPolicy != nil {
		policy, ok = s.DriftPolicy(report.Model)
	}
	if !ok {
		return report, policy, fmt.Sprintf("model %q is not configured for retraining: add it under retraining.models in the sopbot config", report.Model)
	}

	var problemText string
	if report.WindowStart, report.WindowEnd, problemText = parseWindow(wire.Window, s.now()); problemText != "" {
		return report, policy, problemText
	}
	if report.Features, problemText = parseFeatures(wire.Features); problemText != "" {
		return report, policy, problemText
	}
	return report, policy, ""
}

// maxWindowLead is how far ahead of the server clock a window may end,
// for a detector whose clock runs ahead of the server's.
const maxWindowLead = 24 * time.Hour

func parseWindow(w *driftWindow, now time.Time) (time.Time, time.Time, string) {
	if w == nil {
		return time.Time{}, time.Time{}, "window is missing: give window.start and window.end as RFC 3339 times"
	}
	parse := func(field string, value *string) (time.Time, string) {
		if value == nil || *value == "" {
			return time.Time{}, fmt.Sprintf("window.%s is missing: give an RFC 3339 time such as 2026-12-01T00:00:00Z", field)
		}
		t, err := time.Parse(time.RFC3339, *value)
		if err != nil {
			return time.Time{}, fmt.Sprintf("window.%s %q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", field, clipText(*value, 60))
		}
		return t.UTC(), ""
	}
	start, problemText := parse("start", w.Start)
	if problemText != "" {
		return start, start, problemText
	}
	end, problemText := parse("end", w.End)
	if problemText != "" {
		return start, end, problemText
	}
	if end.Before(start) {
		return start, end, "window.end is before window.start"
	}
	if limit := now.Add(maxWindowLead); end.After(limit) {
		return start, end, fmt.Sprintf("window.end %s is more than a day ahead of the server clock (%s): send the window the scores were computed over",
			end.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return start, end, ""
}

func parseFeatures(wire []driftFeature) ([]bot.FeatureScore, string) {
	switch {
	case len(wire) == 0:
		return nil, "features is missing or empty: send at least one feature with its scores"
	case len(wire) > maxDriftFeatures:
		return nil, fmt.Sprintf("features has %d entries; at most %d are accepted in one report", len(wire), maxDriftFeatures)
	}
	features := make([]bot.FeatureScore, 0, len(wire))
	seen := map[string]int{}
	for i, f := range wire {
		where := fmt.Sprintf("features[%d]", i)
		if f.Name == nil || *f.Name == "" {
			return nil, where + ".name is missing"
		}
		name := *f.Name
		if problemText := checkFeatureName(name); problemText != "" {
			return nil, fmt.Sprintf("%s.name %q %s", where, clipText(name, 60), problemText)
		}
		if first, dup := seen[name]; dup {
			return nil, fmt.Sprintf("%s.name %q repeats features[%d]: send each feature once", where, clipText(name, 60), first)
		}
		seen[name] = i
		score := bot.FeatureScore{Name: name}
		fields := []struct {
			name     string
			raw      json.RawMessage
			dst      **float64
			max      float64
			describe string
		}{
			{"ks_statistic", f.KSStatistic, &score.KSStatistic, 1, "between 0 and 1"},
			{"ks_pvalue", f.KSPValue, &score.KSPValue, 1, "between 0 and 1"},
			{"psi", f.PSI, &score.PSI, math.Inf(1), "at least 0"},
			{"kl", f.KL, &score.KL, math.Inf(1), "at least 0"},
		}
		for _, field := range fields {
			v, problemText := parseScore(field.raw)
			if problemText != "" {
				return nil, fmt.Sprintf("%s.%s %s", where, field.name, problemText)
			}
			if v != nil && (*v < 0 || *v > field.max) {
				return nil, fmt.Sprintf("%s.%s is %g; it must be %s", where, field.name, *v, field.describe)
			}
			*field.dst = v
		}
		if score.KSStatistic == nil && score.KSPValue == nil && score.PSI == nil && score.KL == nil {
			return nil, where + " has no score: give at least one of ks_statistic, ks_pvalue, psi and kl"
		}
		features = append(features, score)
	}
	// The report's hash, which finds a replay, covers the features in
	// this order, so a replay with its features reordered is found too.
	slices.SortFunc(features, func(a, b bot.FeatureScore) int { return strings.Compare(a.Name, b.Name) })
	return features, ""
}

// checkFeatureName returns what is wrong with a feature name, or "". Names
// go into Markdown tables and metric labels, so control characters and
// the characters that end a code span or a table cell are rejected. So
// are bidirectional controls, which make a name display as another, and
// names that display as nothing.
func checkFeatureName(name string) string {
	if len(name) > maxFeatureName {
		return fmt.Sprintf("is longer than %d bytes", maxFeatureName)
	}
	visible := false
	for _, r := range name {
		switch {
		case unicode.IsControl(r) || r == '`' || r == '|' || r == '<' || r == '>' || r == unicode.ReplacementChar:
			return "contains a control character or one of ` | < >"
		case unicode.Is(unicode.Bidi_Control, r):
			return fmt.Sprintf("contains the bidirectional control character %U, which changes how the name displays", r)
		case !isInvisible(r):
			visible = true
		}
	}
	if !visible {
		return "has no visible character: use a name that shows, such as the column name"
	}
	return ""
}

// isInvisible reports whether r displays as nothing: white space, format
// characters such as the zero-width space, variation selectors and the
// other default-ignorable code points.
func isInvisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// driftFields lists the field names of each object of a report, by path:
// "" is the report, "features[]" each feature.
var driftFields = map[string][]string{
	"":           {"model", "window", "features"},
	"window":     {"start", "end"},
	"features[]": {"name", "ks_statistic", "ks_pvalue", "psi", "kl"},
}

// checkFieldNames returns a problem for the first field name of a body
// that appears twice or in another letter case than the report's, or "".
// encoding/json keeps the last of two equal keys and matches field names
// case-insensitively, so the decoded report cannot show either problem.
func checkFieldNames(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	return walkFields(dec, "", "the body")
}

// walkFields reads one JSON value from dec. path selects the field names
// of driftFields that apply, and where names the value in a message. The
// caller decoded the body already, so a read error is not expected. If one
// occurs, the walk ends without a problem.
func walkFields(dec *json.Decoder, path, where string) string {
	token, err := dec.Token()
	if err != nil {
		return ""
	}
	switch token {
	case json.Delim('{'):
		return walkObject(dec, path, where)
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if problemText := walkFields(dec, path+"[]", fmt.Sprintf("%s[%d]", path, i)); problemText != "" {
				return problemText
			}
		}
		_, _ = dec.Token() // the closing ']'
	}
	return ""
}

func walkObject(dec *json.Decoder, path, where string) string {
	seen := map[string]string{} // lower-case key to the key as written
	for dec.More() {
		token, err := dec.Token()
		if err != nil {
			return ""
		}
		key, _ := token.(string)
		switch first, ok := seen[strings.ToLower(key)]; {
		case ok && first == key:
			return fmt.Sprintf("field %q appears twice in %s: send each field once", key, where)
		case ok:
			return fmt.Sprintf("fields %q and %q of %s differ only in case: send the field once, as %q", first, key, where, strings.ToLower(key))
		}
		seen[strings.ToLower(key)] = key
		for _, field := range driftFields[path] {
			if key != field && strings.EqualFold(key, field) {
				return fmt.Sprintf("field %q of %s must be written %q: field names are case-sensitive", key, where, field)
			}
		}
		child := key
		if path != "" {
			child = path + "." + key
		}
		if problemText := walkFields(dec, child, child); problemText != "" {
			return problemText
		}
	}
	_, _ = dec.Token() // the closing '}'
	return ""
}

// parseScore reads one optional score: absent or null is nil, a number
// must be finite, and anything else is a problem.
func parseScore(raw json.RawMessage) (*float64, string) {
	text := strings.TrimSpace(string(raw))
	if text == "" || text == "null" {
		return nil, ""
	}
	if text[0] != '-' && (text[0] < '0' || text[0] > '9') {
		return nil, "must be a number or null, not " + clipText(text, 20)
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Sprintf("%s is not a finite number", clipText(text, 40))
	}
	return &v, ""
}

// jsonProblem describes a decoding error with the field or the byte
// offset it concerns.
func jsonProblem(err error, body []byte) string {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		text := fmt.Sprintf("body is not valid JSON: %s at byte offset %d", syntax.Error(), syntax.Offset)
		if at := syntax.Offset - 1; at >= 0 && at < int64(len(body)) && (body[at] == 'N' || body[at] == 'I') {
			text += "; NaN and Infinity are not JSON numbers, so omit that score or send null"
		}
		return text
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "the body"
		}
		return fmt.Sprintf("%s must be %s, not a JSON %s", field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.Is(err, io.EOF):
		return "body is empty: send a JSON report"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "body is not valid JSON: it ends in the middle of a value"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for DisallowUnknownFields, only
		// this message.
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + ": the report takes model, window and features"
	}
	return "body is not a valid report: " + err.Error()
}

func jsonKind(kind string) string {
	switch kind {
	case "string", "ptr":
		return "a string"
	case "slice":
		return "an array"
	case "struct":
		return "an object"
	}
	return "a " + kind
}

func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
