package github_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
)

// GitHub's published test vector for X-Hub-Signature-256, from "Validating
// webhook deliveries" in the GitHub Docs.
const (
	vectorSecret = "It's a Secret to Everybody"
	vectorBody   = "Hello, World!"
	vectorHeader = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func TestSignMatchesGitHubVector(t *testing.T) {
	assert.Equal(t, vectorHeader, github.Sign([]byte(vectorSecret), []byte(vectorBody)))
}

func TestVerifySignature(t *testing.T) {
	tests := []struct {
		name       string
		secret     string
		body       string
		header     string
		wantErr    string
		wantForged bool
	}{
		{name: "GitHub vector", secret: vectorSecret, body: vectorBody, header: vectorHeader},
		{name: "empty secret", secret: "", body: vectorBody, header: vectorHeader, wantErr: "secret is empty"},
		{name: "missing header", secret: vectorSecret, body: vectorBody, header: "", wantErr: "header is missing"},
		{name: "sha1 header", secret: vectorSecret, body: vectorBody, header: "sha1=0123", wantErr: "does not start with"},
		{name: "not hex", secret: vectorSecret, body: vectorBody, header: "sha256=zz", wantErr: "not a hex SHA-256"},
		{name: "short sum", secret: vectorSecret, body: vectorBody, header: "sha256=7571", wantErr: "not a hex SHA-256"},
		{name: "other body", secret: vectorSecret, body: "Hello, World?", header: vectorHeader, wantForged: true},
		{name: "other secret", secret: "guess", body: vectorBody, header: vectorHeader, wantForged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := github.VerifySignature([]byte(tt.secret), []byte(tt.body), tt.header)
			switch {
			case tt.wantForged:
				assert.ErrorIs(t, err, github.ErrInvalidSignature)
			case tt.wantErr != "":
				require.Error(t, err)
				assert.ErrorContains(t, err, tt.wantErr)
				assert.NotErrorIs(t, err, github.ErrInvalidSignature)
			default:
				assert.NoError(t, err)
			}
		})
	}
}
