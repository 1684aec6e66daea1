package slack_test

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/slack"
)

// Slack's documented signing example.
const (
	vectorSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	vectorTimestamp = int64(1531420618)
	vectorSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func readVectorBody(t *testing.T) []byte {
	t.Helper()
	body, err := os.ReadFile("../../testdata/slack/slash_command.signing-example.body.txt")
	require.NoError(t, err)
	require.Len(t, body, 362)
	return body
}

func signedHeader(signature, timestamp string) http.Header {
	header := http.Header{}
	if signature != "" {
		header.Set(slack.SignatureHeader, signature)
	}
	if timestamp != "" {
		header.Set(slack.TimestampHeader, timestamp)
	}
	return header
}

func TestSignSlackVector(t *testing.T) {
	body := readVectorBody(t)

	assert.Equal(t, vectorSignature, slack.Sign([]byte(vectorSecret), vectorTimestamp, body))
}

func TestVerifyRequestSlackVector(t *testing.T) {
	body := readVectorBody(t)
	header := http.Header{}
	header.Set("x-slack-signature", vectorSignature)
	header.Set("X-SLACK-REQUEST-TIMESTAMP", "1531420618")

	err := slack.VerifyRequest([]byte(vectorSecret), header, body, time.Unix(vectorTimestamp, 0))

	assert.NoError(t, err)
}

func TestVerifyRequestRejects(t *testing.T) {
	body := readVectorBody(t)
	now := time.Unix(vectorTimestamp, 0)
	otherSignature := slack.Sign([]byte("another secret"), vectorTimestamp, body)

	tests := []struct {
		name      string
		secret    string
		header    http.Header
		body      []byte
		wantError error
	}{
		{"empty secret", "", signedHeader(vectorSignature, "1531420618"), body, slack.ErrNoSigningSecret},
		{"missing signature", vectorSecret, signedHeader("", "1531420618"), body, slack.ErrMissingSignature},
		{"missing timestamp", vectorSecret, signedHeader(vectorSignature, ""), body, slack.ErrMissingTimestamp},
		{"letters in timestamp", vectorSecret, signedHeader(vectorSignature, "abc"), body, slack.ErrInvalidTimestamp},
		{"negative timestamp", vectorSecret, signedHeader(vectorSignature, "-1531420618"), body, slack.ErrInvalidTimestamp},
		{"plus sign", vectorSecret, signedHeader(vectorSignature, "+1531420618"), body, slack.ErrInvalidTimestamp},
		{"fractional timestamp", vectorSecret, signedHeader(vectorSignature, "1531420618.5"), body, slack.ErrInvalidTimestamp},
		{"timestamp overflow", vectorSecret, signedHeader(vectorSignature, "99999999999999999999"), body, slack.ErrInvalidTimestamp},
		{"leading zero", vectorSecret, signedHeader(vectorSignature, "01531420618"), body, slack.ErrBadSignature},
		{"other secret", vectorSecret, signedHeader(otherSignature, "1531420618"), body, slack.ErrBadSignature},
		{"tampered body", vectorSecret, signedHeader(vectorSignature, "1531420618"), append([]byte{}, body[:361]...), slack.ErrBadSignature},
		{"body with newline", vectorSecret, signedHeader(vectorSignature, "1531420618"), append(append([]byte{}, body...), '\n'), slack.ErrBadSignature},
		{"no version prefix", vectorSecret, signedHeader(vectorSignature[3:], "1531420618"), body, slack.ErrBadSignature},
		{"v1 prefix", vectorSecret, signedHeader("v1="+vectorSignature[3:], "1531420618"), body, slack.ErrBadSignature},
		{"uppercase hex", vectorSecret, signedHeader("v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C69B503", "1531420618"), body, slack.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := slack.VerifyRequest([]byte(tt.secret), tt.header, tt.body, now)

			assert.ErrorIs(t, err, tt.wantError)
		})
	}
}

func TestVerifyRequestReplayWindow(t *testing.T) {
	body := readVectorBody(t)
	sent := time.Unix(vectorTimestamp, 0)

	tests := []struct {
		name      string
		now       time.Time
		wantStale bool
	}{
		{"same second", sent, false},
		{"five minutes later", sent.Add(5 * time.Minute), false},
		{"five minutes earlier", sent.Add(-5 * time.Minute), false},
		{"one nanosecond past window", sent.Add(5*time.Minute + time.Nanosecond), true},
		{"one second past window", sent.Add(5*time.Minute + time.Second), true},
		{"one second before window", sent.Add(-5*time.Minute - time.Second), true},
		{"one day later", sent.Add(24 * time.Hour), true},
		{"one day earlier", sent.Add(-24 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := signedHeader(vectorSignature, "1531420618")

			err := slack.VerifyRequest([]byte(vectorSecret), header, body, tt.now)

			if tt.wantStale {
				assert.ErrorIs(t, err, slack.ErrStaleTimestamp)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestVerifyRequestStaleBeforeSignature(t *testing.T) {
	body := []byte("token=x&command=%2Fmlops")
	sent := time.Unix(1700000000, 0)
	header := signedHeader("v0=00", "1700000000")

	err := slack.VerifyRequest([]byte("secret"), header, body, sent.Add(time.Hour))

	assert.ErrorIs(t, err, slack.ErrStaleTimestamp)
	assert.NotErrorIs(t, err, slack.ErrBadSignature)
}

func TestSignRoundTrip(t *testing.T) {
	secret := []byte("test signing secret")
	body := []byte("command=%2Fmlops&text=promote+model+fraud-detector+3")
	now := time.Unix(1700000000, 0)
	header := signedHeader(slack.Sign(secret, now.Unix(), body), "1700000000")

	assert.NoError(t, slack.VerifyRequest(secret, header, body, now))
}
