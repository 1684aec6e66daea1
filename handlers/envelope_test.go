package handlers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envelopeFixtures returns every GitHub payload under testdata/github.
func envelopeFixtures(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "github", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "GitHub fixtures")
	fixtures := make(map[string][]byte, len(paths))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		fixtures[filepath.Base(path)] = data
	}
	return fixtures
}

// requireSameAsUnmarshal checks that decodeEnvelope returns what
// json.Unmarshal into an envelope returns, and that the one-pass scan
// never accepts a payload that json.Unmarshal rejects or reads
// differently.
func requireSameAsUnmarshal(t *testing.T, payload []byte) {
	t.Helper()
	var want envelope
	wantErr := json.Unmarshal(payload, &want)

	got, err := decodeEnvelope(payload)
	if wantErr != nil {
		require.EqualError(t, err, wantErr.Error(), "payload %q", payload)
	} else {
		require.NoError(t, err, "payload %q", payload)
		require.Equal(t, want, got, "payload %q", payload)
	}

	scanned, ok := scanEnvelope(payload)
	if ok {
		require.NoError(t, wantErr, "the scan accepted a payload json.Unmarshal rejects: %q", payload)
		require.Equal(t, want, scanned, "payload %q", payload)
	}
}

func TestScanEnvelopeReadsFixtures(t *testing.T) {
	for name, payload := range envelopeFixtures(t) {
		t.Run(name, func(t *testing.T) {
			_, ok := scanEnvelope(payload)
			assert.True(t, ok, "the scan reads the payload without json.Unmarshal")
			requireSameAsUnmarshal(t, payload)
		})
	}
}

func TestDecodeEnvelopeMatchesUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		// scanned is whether the one-pass scan decides the payload on
		// its own.
		scanned bool
	}{
		{"all fields", `{"action":"edited","installation":{"id":7},"repository":{"full_name":"a/b"},"issue":{"number":3}}`, true},
		{"pull request", `{"pull_request":{"number":9,"head":{"sha":"x"}}}`, true},
		{"nulls", `{"action":null,"installation":null,"repository":{"full_name":null},"issue":{"number":null}}`, true},
		{"empty object", ` { } `, true},
		{"whitespace everywhere", "\t{ \"action\" :\n\"x\" ,\r\"issue\" : { \"number\" : 1 } }\n", true},
		{"other members of every type", `{"a":[1,-2.5e+3,0,true,false,null,"s",{"k":[]}],"b":{},"c":-0.0E-1}`, true},
		{"escapes in skipped strings", `{"body":"a\"b\\c\/d\b\f\n\r\t\u00e9\uD83D\uDE00","x":{"\u006bey":1}}`, true},
		{"invalid UTF-8 in a skipped string", "{\"body\":\"\xff\xfe\",\"action\":\"created\"}", true},
		{"upper-case key", `{"ACTION":"opened","Installation":{"ID":5}}`, true},
		{"nested fields are not envelope fields", `{"comment":{"action":"x","issue":{"number":2}}}`, true},
		{"installation id at the int64 limit", `{"installation":{"id":9223372036854775807}}`, true},

		{"installation id over int64", `{"installation":{"id":9223372036854775808}}`, false},
		{"installation id with a fraction", `{"installation":{"id":1.5}}`, false},
		{"installation id with an exponent", `{"installation":{"id":1e3}}`, false},
		{"installation id as a string", `{"installation":{"id":"1"}}`, false},
		{"action as a number", `{"action":5}`, false},
		{"issue as an array", `{"issue":[]}`, false},
		{"repository as a string", `{"repository":"a/b"}`, false},
		{"action twice", `{"action":"a","action":"b"}`, false},
		{"action twice in two cases", `{"action":"a","Action":"b"}`, false},
		{"installation twice, null second", `{"installation":{"id":1},"installation":null}`, false},
		{"id twice", `{"installation":{"id":1,"id":null}}`, false},
		{"escaped envelope key", `{"\u0061ction":"opened"}`, false},
		{"escaped top-level key", `{"\u006bey":1}`, false},
		{"non-ASCII envelope key", `{"ac\u0074ion":"x","ſ":1}`, false},
		{"Kelvin sign folds to k", "{\"\u212a\":1}", false},
		{"escaped envelope value", `{"repository":{"full_name":"a\/b"}}`, false},
		{"invalid UTF-8 in the action", "{\"action\":\"\xff\"}", false},

		{"empty", ``, false},
		{"array", `[]`, false},
		{"string", `"x"`, false},
		{"truncated", `{"action":"x"`, false},
		{"trailing data", `{} {}`, false},
		{"trailing comma", `{"a":1,}`, false},
		{"missing colon", `{"a" 1}`, false},
		{"single quotes", `{'a':1}`, false},
		{"control byte in a string", "{\"a\":\"x\ny\"}", false},
		{"invalid escape", `{"a":"\x"}`, false},
		{"short unicode escape", `{"a":"\u12"}`, false},
		{"leading zero", `{"a":01}`, false},
		{"bare minus", `{"a":-}`, false},
		{"fraction without digits", `{"a":1.}`, false},
		{"exponent without digits", `{"a":1e+}`, false},
		{"plus sign", `{"a":+1}`, false},
		{"misspelled literal", `{"a":nul}`, false},
		{"NaN", `{"a":NaN}`, false},
		{"unclosed array", `{"a":[1,2}`, false},
		{"nested to encoding/json's limit", `{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`, true},
		{"nested one past the limit", `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := scanEnvelope([]byte(tt.payload))
			assert.Equal(t, tt.scanned, ok, "decided by the scan alone")
			requireSameAsUnmarshal(t, []byte(tt.payload))
		})
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, payload := range envelopeFixtures(f) {
		f.Add(payload)
	}
	f.Add([]byte(`{"action":"a","installation":{"id":1},"repository":{"full_name":"o/r"},"pull_request":{"number":2}}`))
	f.Add([]byte(`{"a":[1,-2.5e+3,true,false,null,"\u00e9"]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		requireSameAsUnmarshal(t, payload)
	})
}

func BenchmarkDecodeEnvelope(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("..", "testdata", "github", "issue_comment.created.json"))
	require.NoError(b, err)
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if _, err := decodeEnvelope(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			var env envelope
			if err := json.Unmarshal(payload, &env); err != nil {
				b.Fatal(err)
			}
		}
	})
}
