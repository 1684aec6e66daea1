// Package github is sopbot's GitHub App client.
//
// A [Client] authenticates as a GitHub App: it signs an RS256 JWT with the
// app's private key, exchanges it for an installation access token (both
// through github.com/bradleyfalzon/ghinstallation/v2) and calls the REST API
// through github.com/google/go-github/v60. Every call acts on the one
// repository named in [Config]. The client keeps one go-github client per
// installation, so tokens are reused until ghinstallation refreshes them.
//
// [IsPermanent] and [RetryAfter] classify the errors the client returns so
// that job workers know whether to retry. [Sign] and [VerifySignature]
// compute and check the X-Hub-Signature-256 header of webhook deliveries.
//
// Package githubfake serves the same REST subset in process for tests.
package github
