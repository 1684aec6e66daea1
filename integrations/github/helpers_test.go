package github_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/github/githubfake"
)

const (
	testAppID          = 42
	testInstallationID = 7
	testOwner          = "acme"
	testRepo           = "ml-requests"
	testBot            = "sopbot[bot]"
)

var (
	keyOnce sync.Once
	keys    [2]*rsa.PrivateKey
)

// testKeys returns two RSA keys, generated once per test binary.
func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		for i := range keys {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys[i] = key
		}
	})
	return keys[0], keys[1]
}

func pemOf(key *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// startFake starts a fake for testOwner/testRepo whose team acme/ml-leads
// has alice and bob.
func startFake(t *testing.T, prefix string) *githubfake.Fake {
	t.Helper()
	key, _ := testKeys(t)
	fake, err := githubfake.New(githubfake.Options{
		AppID:          testAppID,
		PublicKey:      &key.PublicKey,
		InstallationID: testInstallationID,
		Owner:          testOwner,
		Repo:           testRepo,
		BotLogin:       testBot,
		WebhookSecret:  []byte("test-secret"),
		Teams:          map[string][]string{"acme/ml-leads": {"alice", "Bob"}},
		PathPrefix:     prefix,
	})
	require.NoError(t, err)
	require.NoError(t, fake.Start())
	t.Cleanup(fake.Close)
	return fake
}

// newClient returns a client for fake signed with key.
func newClient(t *testing.T, fake *githubfake.Fake, key *rsa.PrivateKey) *github.Client {
	t.Helper()
	client, err := github.New(github.Config{
		BaseURL:    fake.URL(),
		AppID:      testAppID,
		PrivateKey: pemOf(key),
		Owner:      testOwner,
		Repo:       testRepo,
	})
	require.NoError(t, err)
	return client
}

// setup starts a fake at the root and returns it with a matching client.
func setup(t *testing.T) (*githubfake.Fake, *github.Client) {
	t.Helper()
	fake := startFake(t, "")
	key, _ := testKeys(t)
	return fake, newClient(t, fake, key)
}
