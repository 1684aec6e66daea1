// Package handlers is sopbot's HTTP edge. Each handler authenticates the
// raw request body before parsing it (GitHub's X-Hub-Signature-256 in
// constant time, Slack's v0 signature with a 5-minute replay window),
// stores the delivery and enqueues its processing in one transaction, and
// only then answers, so a crash after the answer loses nothing.
//
// Normalizer decodes stored deliveries into engine events later, in a
// worker: it drops events sent by the bot itself or by other bots, edited
// comments and comments without a command line.
package handlers
