package slack

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
)

// OpenView opens a modal for the user whose interaction carried triggerID,
// with views.open.
//
// Slack accepts a trigger_id once and only within three seconds of the
// interaction (https://api.slack.com/docs/triggers). A later call fails
// with the permanent error expired_trigger_id, a second call with
// exchanged_trigger_id. An empty triggerID fails before any request.
func (c *Client) OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error {
	operation := fmt.Sprintf("opening view %s", view.CallbackID)
	if !c.hasToken {
		return fmt.Errorf("%s: %w", operation, errNoBotToken)
	}

	_, err := c.api.OpenViewContext(ctx, triggerID, view)
	return wrapAPIError(operation, err)
}
