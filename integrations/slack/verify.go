package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Header names and limits of Slack's v0 request signing scheme.
const (
	SignatureHeader = "X-Slack-Signature"
	TimestampHeader = "X-Slack-Request-Timestamp"

	// MaxClockSkew is how far a request timestamp may lie before or after
	// the current time. Older requests are rejected as possible replays.
	MaxClockSkew = 5 * time.Minute

	signatureVersion = "v0"
)

// Errors returned by VerifyRequest, wrapped with detail. Match them with
// errors.Is. All of them mean the request must be rejected with 401, except
// ErrNoSigningSecret, which is a configuration error.
var (
	ErrNoSigningSecret  = errors.New("slack signing secret is empty")
	ErrMissingSignature = errors.New("missing " + SignatureHeader + " header")
	ErrMissingTimestamp = errors.New("missing " + TimestampHeader + " header")
	ErrInvalidTimestamp = errors.New("invalid " + TimestampHeader + " header")
	ErrStaleTimestamp   = errors.New("request timestamp is outside the allowed clock skew")
	ErrBadSignature     = errors.New("request signature does not match")
)

// VerifyRequest checks that body was signed by Slack with signingSecret and
// that the request timestamp lies within MaxClockSkew of now, in either
// direction. Pass the raw body bytes before any decoding.
//
// The signature is "v0=" followed by the hex HMAC-SHA256 of
// "v0:<timestamp>:<body>" under the signing secret, compared in constant
// time.
func VerifyRequest(signingSecret []byte, header http.Header, body []byte, now time.Time) error {
	if len(signingSecret) == 0 {
		return ErrNoSigningSecret
	}

	signature := header.Get(SignatureHeader)
	if signature == "" {
		return ErrMissingSignature
	}

	timestamp := header.Get(TimestampHeader)
	if err := checkTimestamp(timestamp, now); err != nil {
		return err
	}

	expected := sign(signingSecret, timestamp, body)
	if !hmac.Equal([]byte(signature), []byte(expected)) {
		return ErrBadSignature
	}
	return nil
}

// checkTimestamp accepts a decimal Unix time in seconds within MaxClockSkew
// of now.
func checkTimestamp(timestamp string, now time.Time) error {
	if timestamp == "" {
		return ErrMissingTimestamp
	}
	if !isDigits(timestamp) {
		return fmt.Errorf("%w: %q is not a Unix time in seconds", ErrInvalidTimestamp, timestamp)
	}

	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is out of range", ErrInvalidTimestamp, timestamp)
	}

	skew := now.Sub(time.Unix(seconds, 0))
	if skew > MaxClockSkew || skew < -MaxClockSkew {
		return fmt.Errorf("%w: timestamp %d is %s from now, the maximum is %s",
			ErrStaleTimestamp, seconds, skew.Abs().Round(time.Second), MaxClockSkew)
	}
	return nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Sign returns the X-Slack-Signature value for body sent at Unix time ts,
// for tests and local demos that play Slack's part.
func Sign(secret []byte, ts int64, body []byte) string {
	return sign(secret, strconv.FormatInt(ts, 10), body)
}

func sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signatureVersion + ":" + timestamp + ":"))
	mac.Write(body)
	return signatureVersion + "=" + hex.EncodeToString(mac.Sum(nil))
}
