package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SignatureHeader is the webhook header that carries the HMAC-SHA256
// signature of the request body.
const SignatureHeader = "X-Hub-Signature-256"

const signaturePrefix = "sha256="

// ErrInvalidSignature is returned by VerifySignature when the header does not
// match the body.
var ErrInvalidSignature = errors.New("webhook signature does not match the body")

// Sign returns the X-Hub-Signature-256 value for body:
// "sha256=" followed by the hex HMAC-SHA256 of body keyed with secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks an X-Hub-Signature-256 header against the raw body
// in constant time. An empty secret is an error, because a webhook without a
// secret is unsigned and anyone could forge its deliveries. A header that is
// well formed but wrong returns an error wrapping ErrInvalidSignature.
func VerifySignature(secret, body []byte, header string) error {
	if len(secret) == 0 {
		return errors.New("verifying webhook signature: secret is empty")
	}
	if header == "" {
		return fmt.Errorf("verifying webhook signature: %s header is missing", SignatureHeader)
	}

	hexSum, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return fmt.Errorf("verifying webhook signature: %s header does not start with %q", SignatureHeader, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("verifying webhook signature: %s header is not a hex SHA-256 sum", SignatureHeader)
	}

	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("verifying webhook signature: %w", ErrInvalidSignature)
	}
	return nil
}
