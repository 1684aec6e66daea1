package github_test

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
)

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

func TestNewListsEveryProblem(t *testing.T) {
	_, err := github.New(github.Config{BaseURL: "ftp://example.com/"})

	require.Error(t, err)
	for _, want := range []string{"base URL", "app id is missing", "private key is missing", "repository owner is missing", "repository name is missing"} {
		assert.ErrorContains(t, err, want)
	}
}

func TestNewRejectsInvalidKey(t *testing.T) {
	secretish := "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n"

	_, err := github.New(github.Config{AppID: 1, PrivateKey: []byte(secretish), Owner: "o", Repo: "r"})

	require.Error(t, err)
	assert.ErrorContains(t, err, "private key is invalid")
	assert.NotContains(t, err.Error(), "bm90IGEga2V5")
}

func TestNewAcceptsBaseURLs(t *testing.T) {
	key, _ := testKeys(t)
	for _, base := range []string{"", "https://api.github.com/", "https://ghe.example.com/api/v3", "http://127.0.0.1:8080/"} {
		t.Run(base, func(t *testing.T) {
			_, err := github.New(github.Config{BaseURL: base, AppID: 1, PrivateKey: pemOf(key), Owner: "o", Repo: "r"})
			assert.NoError(t, err)
		})
	}
}

func TestNewRejectsBaseURLWithQuery(t *testing.T) {
	key, _ := testKeys(t)

	_, err := github.New(github.Config{BaseURL: "https://ghe.example.com/api/v3/?x=1", AppID: 1, PrivateKey: pemOf(key), Owner: "o", Repo: "r"})

	assert.ErrorContains(t, err, "must not have a query")
}
