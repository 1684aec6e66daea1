// Package slackfake is an in-memory Slack for tests. It serves
// chat.postMessage, chat.update, views.open, users.info and response URLs
// on a loopback port, records what it receives, and shows each request as
// a readable line in Calls.
package slackfake
