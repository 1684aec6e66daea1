package github_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/github/githubfake"
	"github.com/sopbot/sopbot/integrations/httpretry"
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
	return startFakeWith(t, func(opts *githubfake.Options) { opts.PathPrefix = prefix })
}

// startFakeWith starts a fake like startFake after configure changes its
// options.
func startFakeWith(t *testing.T, configure func(*githubfake.Options)) *githubfake.Fake {
	t.Helper()
	key, _ := testKeys(t)
	opts := githubfake.Options{
		AppID:          testAppID,
		PublicKey:      &key.PublicKey,
		InstallationID: testInstallationID,
		Owner:          testOwner,
		Repo:           testRepo,
		BotLogin:       testBot,
		WebhookSecret:  []byte("test-secret"),
		Teams:          map[string][]string{"acme/ml-leads": {"alice", "Bob"}},
	}
	configure(&opts)
	fake, err := githubfake.New(opts)
	require.NoError(t, err)
	require.NoError(t, fake.Start())
	t.Cleanup(fake.Close)
	return fake
}

// newClient returns a client for fake signed with key.
func newClient(t *testing.T, fake *githubfake.Fake, key *rsa.PrivateKey) *github.Client {
	t.Helper()
	return newClientWith(t, fake, key, httpretry.Settings{})
}

// newClientWith returns a client for fake signed with key that retries
// with settings.
func newClientWith(t *testing.T, fake *githubfake.Fake, key *rsa.PrivateKey, settings httpretry.Settings) *github.Client {
	t.Helper()
	client, err := github.New(github.Config{
		BaseURL:    fake.URL(),
		AppID:      testAppID,
		PrivateKey: pemOf(key),
		Owner:      testOwner,
		Repo:       testRepo,
		Retry:      settings,
	})
	require.NoError(t, err)
	return client
}

// setupNoRetry is setup with a client that sends each request once, so a
// test sees the error of each injected fault.
func setupNoRetry(t *testing.T) (*githubfake.Fake, *github.Client) {
	t.Helper()
	fake := startFake(t, "")
	key, _ := testKeys(t)
	return fake, newClientWith(t, fake, key, httpretry.Settings{MaxAttempts: 1})
}

// setup starts a fake at the root and returns it with a matching client.
func setup(t *testing.T) (*githubfake.Fake, *github.Client) {
	t.Helper()
	fake := startFake(t, "")
	key, _ := testKeys(t)
	return fake, newClient(t, fake, key)
}

// testClock is a clock for the fake that moves only when a test advances it.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// setupWithClock is setup with the fake's timestamps taken from clock.
func setupWithClock(t *testing.T, clock *testClock) (*githubfake.Fake, *github.Client) {
	t.Helper()
	fake := startFakeWith(t, func(opts *githubfake.Options) { opts.Clock = clock.Now })
	key, _ := testKeys(t)
	return fake, newClient(t, fake, key)
}
