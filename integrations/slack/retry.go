package slack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// postAttempts is how many times a post is sent when its outcome stays
// unknown.
const postAttempts = 3

// historyLimit is how many of a channel's newest messages the search for
// an earlier attempt's post reads.
const historyLimit = 50

// postEventType is the metadata event type of every message the client
// posts. Its payload's postIDKey names the post.
const (
	postEventType = "sopbot_post"
	postIDKey     = "post_id"
)

// retryRules are the Slack API's retry rules. Every Web API method is a
// POST, so the replayable ones are listed by path: chat.update sets a
// message's content, users.info and conversations.history only read.
// chat.postMessage, views.open and response URL posts are not replayable.
// Slack sets its rate limits per method, so a Retry-After holds back the
// calls to the same path.
func retryRules() httpretry.Rules {
	return httpretry.Rules{
		Replayable: func(r *http.Request) bool {
			for _, method := range []string{"/chat.update", "/users.info", "/conversations.history"} {
				if strings.HasSuffix(r.URL.Path, method) {
					return true
				}
			}
			return false
		},
		GateKey: func(r *http.Request) string { return r.URL.Host + r.URL.Path },
	}
}

// postOnce posts with chat.postMessage and returns the message's ts. A
// post whose outcome is unknown is looked up by its metadata before it is
// sent again.
func (c *Client) postOnce(ctx context.Context, channel string, options []slack.MsgOption) (string, error) {
	id := rand.Text()
	options = append(options, slack.MsgOptionMetadata(slack.SlackMetadata{
		EventType: postEventType, EventPayload: map[string]any{postIDKey: id},
	}))
	send := func(ctx context.Context) (string, error) {
		_, ts, err := c.api.PostMessageContext(ctx, channel, options...)
		return ts, err
	}
	find := func(ctx context.Context) (string, bool, error) {
		return c.findPost(ctx, channel, id)
	}
	return httpretry.Once(ctx, postAttempts, send, find, outcomeUnknown)
}

// findPost returns the ts of the message in channel whose metadata names
// post id, among the newest historyLimit messages.
//
// NOTE: posting to a user ID opens a direct message whose conversation ID
// differs, so the search fails for it and the outcome stays unknown.
func (c *Client) findPost(ctx context.Context, channel, id string) (string, bool, error) {
	history, err := c.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
		ChannelID: channel, Limit: historyLimit, IncludeAllMetadata: true,
	})
	if err != nil {
		return "", false, fmt.Errorf("looking for the message an earlier attempt posted: %w", err)
	}
	for _, m := range history.Messages {
		if m.Metadata.EventType == postEventType && m.Metadata.EventPayload[postIDKey] == id {
			return m.Timestamp, true, nil
		}
	}
	return "", false, nil
}

// unknownCodes are the Slack error codes of a failure inside Slack, after
// which the operation may have taken effect.
var unknownCodes = map[string]bool{
	"internal_error":      true,
	"fatal_error":         true,
	"request_timeout":     true,
	"service_unavailable": true,
}

// outcomeUnknown reports whether a failed post may have taken effect: a
// 5xx status, one of unknownCodes, or no response for a reason other than
// a request that was never sent.
func outcomeUnknown(err error) bool {
	var rateLimited *slack.RateLimitedError
	if httpretry.NotSent(err) || errors.As(err, &rateLimited) {
		return false
	}
	var apiErr slack.SlackErrorResponse
	if errors.As(err, &apiErr) {
		return unknownCodes[apiErr.Err]
	}
	var statusErr slack.StatusCodeError
	if errors.As(err, &statusErr) {
		return statusErr.Code >= http.StatusInternalServerError
	}
	return true
}
