package handlers

import (
	"context"
	"strings"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/slack"
)

// slack decodes a Slack delivery by the event its handler stored.
func (n *Normalizer) slack(ctx context.Context, d store.Delivery) (bot.Event, string, error) {
	switch d.Event {
	case "slash_command":
		return n.slackCommand(ctx, d)
	case eventBlockActions:
		return n.buttonPressed(ctx, d)
	case eventViewSubmission:
		return n.rejectReason(ctx, d)
	}
	return nil, "slack event " + d.Event + " not handled", nil
}

func (n *Normalizer) buttonPressed(ctx context.Context, d store.Delivery) (bot.Event, string, error) {
	callback, err := decodeInteraction(d.Payload)
	if err != nil {
		return nil, "slack interaction does not decode: " + err.Error(), nil
	}
	button := gateButton(callback)
	if button == nil {
		return nil, "interaction has no Approve or Reject action", nil
	}
	ref, revision, err := bot.ParseGateValue(button.Value)
	if err != nil {
		return nil, "button value is not a request: " + err.Error(), nil
	}

	action := bot.ButtonApprove
	if button.ActionID == slack.RejectActionID {
		action = bot.ButtonReject
	}
	return bot.ButtonPressed{
		DeliveryID:  d.ID,
		Actor:       n.slackActor(ctx, d, callback.User.ID),
		Ref:         ref,
		Action:      action,
		Revision:    revision,
		ResponseURL: callback.ResponseURL,
		TriggerID:   callback.TriggerID,
		Channel:     firstNonEmpty(callback.Channel.ID, callback.Container.ChannelID),
		MessageTS:   firstNonEmpty(callback.Container.MessageTs, callback.Message.Timestamp),
	}, "", nil
}

func (n *Normalizer) rejectReason(ctx context.Context, d store.Delivery) (bot.Event, string, error) {
	callback, err := decodeInteraction(d.Payload)
	if err != nil {
		return nil, "slack interaction does not decode: " + err.Error(), nil
	}
	if callback.View.CallbackID != slack.RejectCallbackID {
		return nil, "view " + callback.View.CallbackID + " is not the reject modal", nil
	}
	ref, err := bot.ParseRequestRef(callback.View.PrivateMetadata)
	if err != nil {
		return nil, "reject modal names no request: " + err.Error(), nil
	}

	reason := strings.TrimSpace(submittedReason(callback.View.State))
	if reason == "" {
		return nil, "reject reason is empty", nil
	}
	// The modal's input enforces the same limit, so this only catches a
	// modal opened with other settings.
	if utf8.RuneCountInString(reason) > slack.MaxReasonLength {
		return nil, "reject reason is longer than 1000 characters", nil
	}
	return bot.RejectReasonSubmitted{
		DeliveryID: d.ID,
		Actor:      n.slackActor(ctx, d, callback.User.ID),
		Ref:        ref,
		Reason:     reason,
	}, "", nil
}

// submittedReason returns the text of the reject modal's reason input.
func submittedReason(state *slackgo.ViewState) string {
	if state == nil {
		return ""
	}
	return state.Values[slack.ReasonBlockID][slack.ReasonActionID].Value
}

// slackActor resolves a Slack user through the login the directory pairs
// them with. An unpaired user gets no login and holds no role, so the
// engine rejects what they ask for.
func (n *Normalizer) slackActor(ctx context.Context, d store.Delivery, slackUser string) bot.Actor {
	login, ok := n.Directory.LoginForSlack(slackUser)
	if !ok && n.SlackEmail != nil && n.Directory.HasEmails() {
		// A failed profile lookup leaves the user unpaired: they can ask for
		// status but never sign.
		if email, err := n.SlackEmail(ctx, slackUser); err == nil {
			login, ok = n.Directory.LoginForEmail(email)
		}
	}
	if !ok {
		return bot.Actor{Slack: slackUser, Members: map[string]bool{}}
	}
	actor := n.actor(ctx, d, login)
	actor.Slack = slackUser
	return actor
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
