// Package githubfake is an in-process fake of the GitHub REST API subset that
// package github calls, together with the webhook deliveries GitHub sends
// when that state changes.
//
// The fake listens on a loopback address only. It issues installation tokens
// for a GitHub App whose JWT it verifies with the app's public key, checks
// the token on every other call and responds in GitHub's JSON shapes. Each
// request is recorded as a readable string, such as
//
//	POST /repos/acme/ml-requests/issues "[SOP-02] Promote model"
//	PATCH /repos/acme/ml-requests/issues/1 body
//
// Methods such as [Fake.UserEditBody] and [Fake.SubmitReview] act as human
// users. They change the fake's state and queue the webhook delivery GitHub
// would send. Writes through the REST API queue deliveries too, with the
// App's bot user as sender:
//
//	POST  .../issues                 issues.opened
//	PATCH .../issues/{n}             issues.edited (title or body changed),
//	                                 issues.closed, issues.reopened
//	POST  .../issues/{n}/comments    issue_comment.created
//
// NOTE: replacing labels sends no issues.labeled or issues.unlabeled
// delivery, although GitHub sends one per label. Setting a commit status
// (POST .../statuses/{sha}) sends no status delivery, because the app
// does not subscribe to status events.
//
// [Fake.SuppressNextDeliveries] records the next deliveries without sending
// them, to test how the bot recovers from a lost webhook.
//
// Payloads are built from real deliveries embedded from the payloads
// folder, with the fields that identify the repository, installation,
// sender, issue, comment, pull request and review replaced. One goroutine
// posts them to the webhook URL in FIFO order, signed with
// X-Hub-Signature-256.
package githubfake
