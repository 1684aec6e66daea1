package bot_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sopbot/sopbot/bot"
)

func TestCommandFromBotLoginRejected(t *testing.T) {
	h := newRetrainHarness(t)

	for _, login := range []string{bot.BotActor, "SopBot"} {
		mark := h.queue.mark()
		reply := h.commandReply(login, "retrain model fraud-detector")

		assert.Contains(t, reply, "sopbot takes no commands from the GitHub login", "login %s", login)
		assert.Empty(t, jobsOf[bot.OpenIssueArgs](h.queue, mark),
			"a request whose requester is the bot's own actor would read as one the bot opened")
	}
}
