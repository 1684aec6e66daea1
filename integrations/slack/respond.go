package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/slack-go/slack"
)

// ErrResponseURLNotAllowed marks a response_url outside the configured
// prefixes. Respond returns it before sending any request.
var ErrResponseURLNotAllowed = errors.New("response_url is not under an allowed prefix")

// Respond posts msg to a slash command's or interaction's response_url as
// JSON with response_type "ephemeral" or "in_channel".
//
// It rejects a responseURL outside the configured prefixes without sending a
// request. Any status other than 200 is an error carrying the status. The
// slack-go webhook helper discards Slack's response body, so errors name the
// status only.
func (c *Client) Respond(ctx context.Context, responseURL string, msg Message) error {
	if err := c.checkResponseURL(responseURL); err != nil {
		return err
	}

	err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, c.webhookHTTP, webhookMessage(msg))
	if err != nil {
		return fmt.Errorf("responding to %s: %w", redactURL(responseURL), redactURLError(err))
	}
	return nil
}

func webhookMessage(msg Message) *slack.WebhookMessage {
	responseType := slack.ResponseTypeInChannel
	if msg.Ephemeral {
		responseType = slack.ResponseTypeEphemeral
	}

	webhook := &slack.WebhookMessage{
		Text:            msg.Text,
		ResponseType:    responseType,
		ReplaceOriginal: msg.ReplaceOriginal,
	}
	if len(msg.Blocks) > 0 {
		webhook.Blocks = &slack.Blocks{BlockSet: msg.Blocks}
	}
	return webhook
}

// checkResponseURL accepts raw only if it starts with an allowed prefix and
// parses to that prefix's scheme and host, with no user information.
func (c *Client) checkResponseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" {
		return fmt.Errorf("%w: %s", ErrResponseURLNotAllowed, redactURL(raw))
	}

	for _, prefix := range c.prefixes {
		if strings.HasPrefix(raw, prefix.raw) && u.Scheme == prefix.scheme && u.Host == prefix.host {
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrResponseURLNotAllowed, redactURL(raw))
}

// redactURL keeps the scheme and host of raw and hides the rest, because
// the path of a response_url is enough to post into the conversation.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL, redacted)"
	}
	return u.Scheme + "://" + u.Host + "/REDACTED"
}

// redactURLError replaces the URL inside a *url.Error, which net/http puts
// in every transport error.
func redactURLError(err error) error {
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		return err
	}
	return &url.Error{Op: urlErr.Op, URL: redactURL(urlErr.URL), Err: urlErr.Err}
}
