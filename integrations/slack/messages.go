package slack

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
)

// PostBlocks sends a Block Kit message to a channel or user ID with
// chat.postMessage and returns its ts, which UpdateMessage needs to edit
// it. text is the fallback shown in notifications. A failure whose outcome
// is unknown is handled as Post describes.
func (c *Client) PostBlocks(ctx context.Context, channel, text string, blocks []slack.Block) (string, error) {
	if !c.hasToken {
		return "", fmt.Errorf("posting message to %s: %w", channel, errNoBotToken)
	}

	options := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		options = append(options, slack.MsgOptionBlocks(blocks...))
	}

	ts, err := c.postOnce(ctx, channel, options)
	if err != nil {
		return "", wrapAPIError("posting message to "+channel, err)
	}
	return ts, nil
}

// UpdateMessage replaces the text and blocks of the message at ts in
// channel with chat.update. An empty blocks removes the message's blocks,
// which takes its buttons away.
func (c *Client) UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	operation := fmt.Sprintf("updating message %s in %s", ts, channel)
	if !c.hasToken {
		return fmt.Errorf("%s: %w", operation, errNoBotToken)
	}

	_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts,
		slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	return wrapAPIError(operation, err)
}
