package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
)

// errNoBotToken is returned by every Web API method when Config.BotToken
// was empty.
var errNoBotToken = errors.New("no bot token configured: set BotToken in the Slack config")

// Post sends msg to a channel or user ID with chat.postMessage. It ignores
// msg.Ephemeral and msg.ReplaceOriginal, which apply to response_url replies
// only.
//
// Slack reports most failures as HTTP 200 with "ok": false, and the error
// then names Slack's error code (for example channel_not_found).
//
// Each message carries metadata with a random post id. When a post fails
// in a way that leaves its outcome unknown, such as a 5xx response or a
// lost connection, Post reads the channel's newest messages with
// conversations.history and posts again only when none carries the id.
// That read needs the channels:history scope, or groups:history for a
// private channel. The error of a post whose outcome stayed unknown wraps
// an *httpretry.UnknownOutcomeError.
func (c *Client) Post(ctx context.Context, channel string, msg Message) error {
	if !c.hasToken {
		return fmt.Errorf("posting message to %s: %w", channel, errNoBotToken)
	}

	options := []slack.MsgOption{slack.MsgOptionText(msg.Text, false)}
	if len(msg.Blocks) > 0 {
		options = append(options, slack.MsgOptionBlocks(msg.Blocks...))
	}

	_, err := c.postOnce(ctx, channel, options)
	return wrapAPIError("posting message to "+channel, err)
}
