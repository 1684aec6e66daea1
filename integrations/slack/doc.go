// Package slack sends sopbot's messages to Slack and verifies the requests
// Slack sends to sopbot.
//
// A Client replies to slash commands through their response_url, posts to
// channels with chat.postMessage, edits messages with chat.update, opens
// modals with views.open and reads profile emails with users.info, using
// github.com/slack-go/slack. GateBlocks, ResolvedBlocks and RejectModal build
// the approval gate messages and the reject modal whose interactions Slack
// sends back with the action and callback IDs declared here. Because a
// response_url arrives in a request body, Respond posts only to URLs under the
// configured prefixes, which guards against server-side request forgery.
// The path of a response_url is a credential, so errors show only its scheme
// and host.
//
// VerifyRequest checks the v0 signature and timestamp that Slack puts on every
// request (https://docs.slack.dev/authentication/verifying-requests-from-slack/).
// IsPermanent and RetryAfter classify errors for the caller's retry loop.
package slack
