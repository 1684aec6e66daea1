package bot_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
)

const commandList = "Commands: `approve`, `cancel`, `help`, `inventory`, `onboard project`, `promote`, `promote model`, " +
	"`reject`, `retrain model`, `retry`, `rotate secret`, `secrets`, `status`."

const rotateHelp = "`/mlops rotate secret <secret> -n|--namespace <namespace> --deployment <deployment>`: open an SOP-04 request (Secret and Credential Rotation for ML Services)\n" +
	"Arguments:\n" +
	"• `<secret>`: secret to replace, by its name in the secret inventory (/mlops secrets), such as mlflow-secrets\n" +
	"Flags:\n" +
	"• `-n`, `--namespace <namespace>` (required): namespace of the secret and the deployment, such as mlops\n" +
	"• `--deployment <deployment>` (required): deployment that reads the secret, such as mlflow-server\n" +
	"Example: `/mlops rotate secret mlflow-secrets --namespace mlops --deployment mlflow-server`"

func TestHelpForRotateSecret(t *testing.T) {
	t.Parallel()
	assert.Equal(t, rotateHelp, newGrammar(t).HelpFor("rotate secret"))
}

func TestHelpForTopics(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	sopPromote := "`/mlops " + promoteUsage + "`: open an SOP-02 request"
	retrainPromote := "`/mlops promote <request>`: promote a retraining request's candidate"
	cases := []struct {
		name    string
		topic   string
		want    []string
		notWant []string
	}{
		{"first word names both promote commands", "promote",
			[]string{sopPromote, retrainPromote, "• `--to <to>` (optional, default `Production`): target stage", "Example: `/mlops promote model fraud-detector 3 --to champion`", "Example: `/mlops promote #42`"},
			[]string{"*sopbot commands*", "`/mlops status"}},
		{"two words name one command", "promote model",
			[]string{sopPromote, "• `<model>`: registered model name in MLflow", "• `<version>`: model version number"},
			[]string{retrainPromote}},
		{"words ignore case", "Promote MODEL", []string{sopPromote}, []string{retrainPromote}},
		{"quoted topic", `"promote model"`, []string{sopPromote}, []string{retrainPromote}},
		{"prefix before the topic", "/mlops status", []string{"`/mlops status <request>`: show a request's state", "Example: `/mlops status #42`"}, []string{sopPromote}},
		{"SOP id", "sop-01", []string{"`/mlops onboard project <project> --team <team> --cost-center <cost-center>`", "• `--team <team>` (required)"}, []string{sopPromote}},
		{"first word of an SOP command", "rotate", []string{rotateHelp}, nil},
		{"optional argument", "approve", []string{"• `[revision]`: optional: at least 7 hex digits", "Example: `/mlops approve #42 3f9a2c1`"}, nil},
		{"help itself", "help", []string{"• `[command]`: optional: a command's words", "Example: `/mlops help rotate secret`"}, nil},
		{"no arguments", "inventory", []string{"`/mlops inventory`: list the onboarded projects\nExample: `/mlops inventory`"}, []string{"Arguments:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd, err := grammar.Parse("help " + tc.topic)
			require.NoError(t, err)
			require.Equal(t, bot.VerbHelp, cmd.Verb)
			text := grammar.HelpFor(cmd.Topic)
			for _, want := range tc.want {
				assert.Contains(t, text, want)
			}
			for _, notWant := range tc.notWant {
				assert.NotContains(t, text, notWant)
			}
		})
	}
}

func TestHelpForEmptyTopicIsHelp(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	assert.Equal(t, grammar.Help(), grammar.HelpFor(""))
	assert.Equal(t, grammar.Help(), grammar.HelpFor("/mlops"))
	assert.Contains(t, grammar.Help(), "`/mlops help <command>` shows a command's flags and an example.")
}

var exampleLine = regexp.MustCompile("(?m)^Example: `/mlops ([^`]+)`$")

// Every example that help prints parses as the command it documents.
func TestHelpExamplesParse(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	names := grammar.CommandNames()
	require.Len(t, names, 13)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			examples := exampleLine.FindAllStringSubmatch(grammar.HelpFor(name), -1)
			require.NotEmpty(t, examples, "help %s shows an example", name)
			for _, example := range examples {
				cmd, err := grammar.Parse(example[1])
				require.NoError(t, err, "example %q", example[1])
				if cmd.SOP != nil {
					words := strings.Join(cmd.SOP.Binding.Usage.Words, " ")
					assert.True(t, strings.HasPrefix(words, name), "example %q opens an SOP whose command starts with %q", example[1], name)
				} else {
					assert.Equal(t, name, cmd.Verb, "example %q has the command's verb", example[1])
				}
			}
		})
	}
}

func TestGrammarParseHelpUnknownTopic(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	cases := []struct {
		name       string
		topic      string
		problem    string
		suggestion string
	}{
		{"typo in a word", "promot", "No command is named `promot`.", "/mlops help promote"},
		{"typo in the second word", "promote modle", "No command is named `promote modle`.", "/mlops help promote model"},
		{"whole command line", "status #42", "No command is named `status #42`.", "/mlops help status"},
		{"partial word", "rot", "No command is named `rot`.", ""},
		{"nothing close", "deploy everything", "No command is named `deploy everything`.", ""},
		{"mention is inert", "@here", "No command is named `@\u2060here`.", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := grammar.Parse("/mlops help " + tc.topic)
			var usageErr *bot.UsageError
			require.ErrorAs(t, err, &usageErr)
			assert.Equal(t, tc.problem, usageErr.Problem, "problem")
			assert.Equal(t, tc.suggestion, usageErr.Suggestion, "suggestion")
			assert.Equal(t, "help [command]", usageErr.Usage, "usage")
			assert.Equal(t, commandList, usageErr.Detail, "detail")
			assert.Equal(t, usageErr.Error(), grammar.HelpFor(tc.topic), "HelpFor returns the same message")
		})
	}
}

func TestUsageErrorMessageWithDetail(t *testing.T) {
	t.Parallel()
	err := &bot.UsageError{Problem: "No command is named `promot`.", Suggestion: "/mlops help promote", Usage: "help [command]", Detail: commandList}
	want := "No command is named `promot`. Did you mean `/mlops help promote`?\nUsage: `/mlops help [command]`\n" + commandList
	assert.Equal(t, want, err.Error())
}

func TestEngineHelpTopicReplies(t *testing.T) {
	t.Parallel()
	origins := map[string]store.Origin{
		"slack":  {Source: "slack", ResponseURL: "https://hooks.slack.com/commands/T0/1/x", Channel: testChannel},
		"github": {Source: "github", Issue: 7},
	}
	for source, origin := range origins {
		t.Run(source, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			reply := func(line string) bot.ReplyArgs {
				mark := h.queue.mark()
				h.handle(bot.CommandIssued{DeliveryID: h.deliveryID(), Actor: h.actor("alice"), Line: line, Origin: origin})
				replies := jobsOf[bot.ReplyArgs](h.queue, mark)
				require.Len(t, replies, 1, "one reply to %q", line)
				return replies[0]
			}

			topic := reply("/mlops help promote")
			assert.Equal(t, origin, topic.Origin, "the reply goes where the command was typed")
			assert.Equal(t, h.engine.Grammar.HelpFor("promote"), topic.Text)
			assert.NotEqual(t, h.engine.Grammar.Help(), topic.Text, "a topic narrows the help")
			assert.Contains(t, topic.Text, "Example: `/mlops promote model fraud-detector 3 --to champion`")

			unknown := reply("/mlops help promot")
			assert.Contains(t, unknown.Text, "No command is named `promot`. Did you mean `/mlops help promote`?")
			assert.Contains(t, unknown.Text, commandList)

			assert.Equal(t, h.engine.Grammar.Help(), reply("/mlops help").Text, "no topic prints every command")
		})
	}
}
