package scan

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Credential-shaped test values that belong to no account, built from parts
// so that no complete token sits in the source.
var (
	testGitHubToken = "ghp_" + "Zx9Qw3Er7Ty1Ui5Op2As6Df0Gh4Jk8Lz3Xc7V"
	testAWSKeyID    = "AKIA" + "Z7QW3ER5TY1UI8OP"
	testAWSSecret   = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
)

type secretHit struct {
	secret string
	offset int64
}

func scanSecretChunks(data []byte, chunk int) []secretHit {
	var hits []secretHit
	s := newSecretScanner(func(m secretMatch, offset int64) { hits = append(hits, secretHit{m.secret, offset}) })
	for start := 0; start < len(data); start += chunk {
		_, _ = s.Write(data[start:min(len(data), start+chunk)])
	}
	_ = s.Close()
	return hits
}

func TestSecretDetectors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		text string
		want []secretHit
	}{
		{"aws key id", "key=" + testAWSKeyID + "\n", []secretHit{{SecretAWSAccessKeyID, 4}}},
		{"aws session key id", "x ASIA" + testAWSKeyID[4:] + " y", []secretHit{{SecretAWSAccessKeyID, 2}}},
		{"aws key id too long", "AKIA" + testAWSKeyID[4:] + "X more text", nil},
		{"aws secret", "aws_secret_access_key = " + testAWSSecret + "\n", []secretHit{{SecretAWSSecretKey, 0}}},
		{"rsa pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIE", []secretHit{{SecretPrivateKey, 0}}},
		{"openssh pem", "-----BEGIN OPENSSH PRIVATE KEY-----", []secretHit{{SecretPrivateKey, 0}}},
		{"pgp pem", "-----BEGIN PGP PRIVATE KEY BLOCK-----", []secretHit{{SecretPrivateKey, 0}}},
		{"public key is fine", "-----BEGIN PUBLIC KEY-----\nMIIB", nil},
		{"gcp json", `{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE"}`,
			[]secretHit{{SecretGCPServiceAccount, 28}}},
		{"github classic", "token " + testGitHubToken, []secretHit{{SecretGitHubToken, 6}}},
		{"github fine grained", "github_pat_" + "11ABCDEFG0123456789abcdef_ghijklmnopqrstuvwxyz", []secretHit{{SecretGitHubToken, 0}}},
		{"github assigned", "GITHUB_TOKEN=" + testGitHubToken, []secretHit{{SecretGitHubToken, 13}}},
		{"slack bot", "SLACK xoxb-" + "123456789012-abcdefghijkl", []secretHit{{SecretSlackToken, 6}}},
		{"slack app", "xapp-" + "1-A0123456789-0123", []secretHit{{SecretSlackToken, 0}}},
		{"slack webhook", "https://hooks.slack.com/services/" + "T0AAAAAAA/B0BBBBBBB/cccccccccccccccccccccccc",
			[]secretHit{{SecretSlackWebhook, 8}}},
		{"high entropy", `db_password: "` + "Zq8vL2mR7xK4pW9sT1bN" + `"`, []secretHit{{SecretHighEntropy, 0}}},
		{"low entropy", `password = "aaaaaaaaaaaaaaaaaaaaaa"`, nil},
		{"short value", `password = "Zq8vL2mR7x"`, nil},
		{"comparison", `if token == "Zq8vL2mR7xK4pW9sT1bN6":`, nil},
		{"path value", `secret_file = "/etc/app/secrets/database.txt"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := []byte("\x00\x01" + tc.text + "\x00")
			want := make([]secretHit, 0, len(tc.want))
			for _, hit := range tc.want {
				want = append(want, secretHit{hit.secret, hit.offset + 2})
			}
			assert.Equal(t, want, append([]secretHit{}, scanSecretChunks(data, len(data))...))
		})
	}
}

func TestSecretScannerChunkBoundaries(t *testing.T) {
	t.Parallel()
	random := rand.New(rand.NewSource(1))
	noise := make([]byte, 3000)
	random.Read(noise)
	data := bytes.Join([][]byte{noise[:1000], []byte("\x00" + testAWSKeyID + "\x00"), noise[1000:2001], []byte("\x00-----BEGIN EC PRIVATE KEY-----"),
		noise[2001:], []byte("\x00 api_key = 'Zq8vL2mR7xK4pW9sT1bN6cJ3'")}, nil)
	whole := scanSecretChunks(data, len(data))
	require.Len(t, whole, 3)
	for _, chunk := range []int{1, 3, 7, 8, 64, 1000} {
		assert.Equal(t, whole, scanSecretChunks(data, chunk), "chunk size %d", chunk)
	}
}

func TestSecretScannerLongRun(t *testing.T) {
	t.Parallel()
	// A printable run longer than maxPendingRun is scanned in parts; a key
	// that straddles a part boundary is reported once.
	text := bytes.Repeat([]byte("lorem ipsum "), (maxPendingRun/12)*3)
	at := maxPendingRun - 10
	copy(text[at:], testAWSKeyID+" ")
	for _, chunk := range []int{4096, 1 << 20} {
		hits := scanSecretChunks(text, chunk)
		assert.Equal(t, []secretHit{{SecretAWSAccessKeyID, int64(at)}}, hits, "chunk size %d", chunk)
	}
}

func TestPrintableWord(t *testing.T) {
	t.Parallel()
	random := rand.New(rand.NewSource(2))
	buf := make([]byte, 8)
	for i := 0; i < 200000; i++ {
		random.Read(buf)
		if i%2 == 0 {
			for j := range buf {
				buf[j] = 0x18 + buf[j]%0x70 // bias towards the printable edges
			}
		}
		naive := true
		for _, c := range buf {
			naive = naive && c >= 0x20 && c < 0x7f
		}
		x := uint64(buf[0]) | uint64(buf[1])<<8 | uint64(buf[2])<<16 | uint64(buf[3])<<24 |
			uint64(buf[4])<<32 | uint64(buf[5])<<40 | uint64(buf[6])<<48 | uint64(buf[7])<<56
		require.Equal(t, naive, printableWord(x), "%q", buf)
	}
}

func TestEntropy(t *testing.T) {
	t.Parallel()
	assert.InDelta(t, 0.0, shannonEntropy([]byte("aaaa")), 1e-9)
	assert.InDelta(t, 1.0, shannonEntropy([]byte("abab")), 1e-9)
	assert.InDelta(t, 4.0, shannonEntropy([]byte("0123456789abcdef")), 1e-9)
}
