package scan

import (
	"bytes"
	"fmt"
	"math"
)

// Thresholds of the high-entropy assignment detector. A value must be at
// least minAssignedSecret bytes long, contain no whitespace, mix at least two
// of lower case, upper case and digits, and have a Shannon entropy of at
// least minSecretEntropy bits per byte. Random base64 or hex of 16 or more
// characters clears 3.5 bits, while words, paths and repeated characters
// mostly do not.
const (
	minAssignedSecret = 16
	maxAssignedSecret = 256
	minSecretEntropy  = 3.5
)

// Secret kinds reported in Finding.Secret.
const (
	SecretAWSAccessKeyID    = "aws-access-key-id"
	SecretAWSSecretKey      = "aws-secret-access-key"
	SecretGCPServiceAccount = "gcp-service-account-key"
	SecretPrivateKey        = "private-key"
	SecretGitHubToken       = "github-token"
	SecretSlackToken        = "slack-token"
	SecretSlackWebhook      = "slack-webhook"
	SecretHighEntropy       = "high-entropy-assignment"
)

// secretMatch is one credential found in a run. It holds positions only.
type secretMatch struct {
	start, end int
	secret     string
	detail     string
}

// assignmentKeywords are the lower-case names whose assigned values are
// tested for entropy.
var assignmentKeywords = [][]byte{
	[]byte("password"), []byte("passwd"), []byte("secret"), []byte("token"), []byte("api_key"),
	[]byte("apikey"), []byte("api-key"), []byte("access_key"), []byte("accesskey"),
	[]byte("auth_key"), []byte("credential"),
}

// findSecrets returns the credentials in one printable run. Each detector
// first finds a literal anchor with bytes.Index and only then inspects the
// bytes that follow it.
func findSecrets(run []byte) []secretMatch {
	var found []secretMatch
	found = findAWSKeyIDs(run, found)
	found = findPrivateKeys(run, found)
	found = findGitHubTokens(run, found)
	found = findSlack(run, found)
	return findAssignments(run, found)
}

// eachIndex calls fn with every index of anchor in run.
func eachIndex(run, anchor []byte, fn func(i int)) {
	for from := 0; ; {
		i := bytes.Index(run[from:], anchor)
		if i < 0 {
			return
		}
		fn(from + i)
		from += i + 1
	}
}

func isAlnum(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// spanOf returns the length of the longest prefix of run[at:] (up to limit)
// whose bytes satisfy ok.
func spanOf(run []byte, at, limit int, ok func(byte) bool) int {
	n := 0
	for at+n < len(run) && n < limit && ok(run[at+n]) {
		n++
	}
	return n
}

func boundaryBefore(run []byte, i int) bool { return i == 0 || !isAlnum(run[i-1]) }

func findAWSKeyIDs(run []byte, found []secretMatch) []secretMatch {
	upperOrDigit := func(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') }
	for _, anchor := range [][]byte{[]byte("AKIA"), []byte("ASIA")} {
		eachIndex(run, anchor, func(i int) {
			if !boundaryBefore(run, i) || spanOf(run, i+4, 17, upperOrDigit) != 16 {
				return
			}
			if i+20 < len(run) && isAlnum(run[i+20]) {
				return
			}
			found = append(found, secretMatch{start: i, end: i + 20, secret: SecretAWSAccessKeyID,
				detail: "AWS access key id (" + string(anchor) + " prefix)"})
		})
	}
	return found
}

// pemTypes are the key types of private-key PEM armor lines.
var pemTypes = []string{"", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", "PGP "}

func findPrivateKeys(run []byte, found []secretMatch) []secretMatch {
	eachIndex(run, []byte("-----BEGIN "), func(i int) {
		rest := run[i+len("-----BEGIN "):]
		for _, keyType := range pemTypes {
			label := keyType + "PRIVATE KEY"
			if keyType == "PGP " {
				label += " BLOCK"
			}
			if !bytes.HasPrefix(rest, []byte(label+"-----")) {
				continue
			}
			end := i + len("-----BEGIN ") + len(label) + 5
			if gcp := gcpKeyStart(run, i); gcp >= 0 {
				found = append(found, secretMatch{start: gcp, end: end, secret: SecretGCPServiceAccount,
					detail: "service-account JSON private_key field"})
				return
			}
			found = append(found, secretMatch{start: i, end: end, secret: SecretPrivateKey,
				detail: fmt.Sprintf("%sPRIVATE KEY PEM block", keyType)})
			return
		}
	})
	return found
}

// gcpKeyStart returns the offset of a `"private_key": "` JSON field that ends
// right before the PEM header at pem, or -1.
func gcpKeyStart(run []byte, pem int) int {
	j := pem - 1
	if j < 0 || run[j] != '"' {
		return -1
	}
	j--
	for j >= 0 && (run[j] == ' ' || run[j] == '\t') {
		j--
	}
	if j < 0 || run[j] != ':' {
		return -1
	}
	j--
	for j >= 0 && (run[j] == ' ' || run[j] == '\t') {
		j--
	}
	field := []byte(`"private_key"`)
	if j+1 < len(field) || !bytes.Equal(run[j+1-len(field):j+1], field) {
		return -1
	}
	return j + 1 - len(field)
}

func findGitHubTokens(run []byte, found []secretMatch) []secretMatch {
	eachIndex(run, []byte("gh"), func(i int) {
		if i+4 > len(run) || run[i+3] != '_' || bytes.IndexByte([]byte("pousr"), run[i+2]) < 0 || !boundaryBefore(run, i) {
			return
		}
		n := spanOf(run, i+4, 256, isAlnum)
		if n >= 36 {
			found = append(found, secretMatch{start: i, end: i + 4 + n, secret: SecretGitHubToken,
				detail: "GitHub token (" + string(run[i:i+4]) + " prefix)"})
		}
	})
	eachIndex(run, []byte("github_pat_"), func(i int) {
		n := spanOf(run, i+11, 256, func(c byte) bool { return isAlnum(c) || c == '_' })
		if n >= 22 && boundaryBefore(run, i) {
			found = append(found, secretMatch{start: i, end: i + 11 + n, secret: SecretGitHubToken,
				detail: "GitHub fine-grained token (github_pat_ prefix)"})
		}
	})
	return found
}

func findSlack(run []byte, found []secretMatch) []secretMatch {
	tokenByte := func(c byte) bool { return isAlnum(c) || c == '-' }
	eachIndex(run, []byte("xox"), func(i int) {
		if i+5 > len(run) || run[i+4] != '-' || bytes.IndexByte([]byte("abprs"), run[i+3]) < 0 || !boundaryBefore(run, i) {
			return
		}
		if n := spanOf(run, i+5, 256, tokenByte); n >= 10 {
			found = append(found, secretMatch{start: i, end: i + 5 + n, secret: SecretSlackToken,
				detail: "Slack token (" + string(run[i:i+5]) + " prefix)"})
		}
	})
	eachIndex(run, []byte("xapp-"), func(i int) {
		if n := spanOf(run, i+5, 256, tokenByte); n >= 10 && boundaryBefore(run, i) {
			found = append(found, secretMatch{start: i, end: i + 5 + n, secret: SecretSlackToken,
				detail: "Slack app-level token (xapp- prefix)"})
		}
	})
	hook := []byte("hooks.slack.com/services/T")
	eachIndex(run, hook, func(i int) {
		n := spanOf(run, i+len(hook), 256, func(c byte) bool { return isAlnum(c) || c == '/' })
		if n >= 20 && bytes.Count(run[i+len(hook):i+len(hook)+n], []byte("/")) >= 2 {
			found = append(found, secretMatch{start: i, end: i + len(hook) + n, secret: SecretSlackWebhook,
				detail: "Slack incoming webhook URL"})
		}
	})
	return found
}

// shannonEntropy returns the entropy of s in bits per byte.
func shannonEntropy(s []byte) float64 {
	var counts [256]int
	for _, c := range s {
		counts[c]++
	}
	entropy := 0.0
	for _, n := range counts {
		if n > 0 {
			p := float64(n) / float64(len(s))
			entropy -= p * math.Log2(p)
		}
	}
	return entropy
}
