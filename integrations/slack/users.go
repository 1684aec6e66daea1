package slack

import (
	"context"
	"errors"
	"fmt"
)

// errNoEmail is returned by UserEmail for a profile without an email.
var errNoEmail = errors.New("user profile has no email: the bot token needs the users:read.email scope")

// UserEmail returns the email address in a Slack user's profile, read with
// users.info, which needs the users:read scope. Slack includes the address
// only for tokens that also have users:read.email, and UserEmail returns a
// permanent error when it is missing. An unknown user fails with the Slack
// error user_not_found.
func (c *Client) UserEmail(ctx context.Context, userID string) (string, error) {
	operation := "reading Slack user " + userID
	if !c.hasToken {
		return "", fmt.Errorf("%s: %w", operation, errNoBotToken)
	}

	user, err := c.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return "", wrapAPIError(operation, err)
	}
	if user.Profile.Email == "" {
		return "", fmt.Errorf("%s: %w", operation, errNoEmail)
	}
	return user.Profile.Email, nil
}
