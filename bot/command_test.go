package bot_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/sop"
)

const promoteUsage = "promote model <model> <version> [--to <to>]"

func newGrammar(t *testing.T) *bot.Grammar {
	t.Helper()
	lib, err := sop.Embedded()
	require.NoError(t, err)
	return bot.NewGrammar(lib)
}

func TestGrammarParseOpen(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	cases := []struct {
		name string
		line string
		want map[string]string
	}{
		{"default target", "promote model fraud-detector 3",
			map[string]string{"model": "fraud-detector", "version": "3", "to": "Production"}},
		{"with prefix", "/mlops promote model fraud-detector 3",
			map[string]string{"model": "fraud-detector", "version": "3", "to": "Production"}},
		{"prefix and tab", "/mlops\tpromote model fraud-detector 3",
			map[string]string{"model": "fraud-detector", "version": "3", "to": "Production"}},
		{"alias flag", "promote model fraud-detector 3 --to champion",
			map[string]string{"model": "fraud-detector", "version": "3", "to": "champion"}},
		{"flag with equals", "promote model fraud-detector 3 --to=Staging",
			map[string]string{"model": "fraud-detector", "version": "3", "to": "Staging"}},
		{"flag before arguments", "promote model --to Staging fraud-detector 3",
			map[string]string{"model": "fraud-detector", "version": "3", "to": "Staging"}},
		{"v prefix on version", "promote model fraud-detector v3",
			map[string]string{"model": "fraud-detector", "version": "3", "to": "Production"}},
		{"stage canonicalised", "promote model fraud-detector 3 --to production",
			map[string]string{"model": "fraud-detector", "version": "3", "to": "Production"}},
		{"command words ignore case", "Promote Model fraud-detector 3",
			map[string]string{"model": "fraud-detector", "version": "3", "to": "Production"}},
		{"128-character name", "promote model " + strings.Repeat("m", 128) + " 3",
			map[string]string{"model": strings.Repeat("m", 128), "version": "3", "to": "Production"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd, err := grammar.Parse(tc.line)
			require.NoError(t, err)
			assert.Equal(t, bot.VerbOpen, cmd.Verb, "verb")
			require.NotNil(t, cmd.SOP)
			assert.Equal(t, "SOP-02", cmd.SOP.ID, "SOP")
			assert.Equal(t, tc.want, cmd.Params, "params")
		})
	}
}

func TestGrammarParseRejects(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	long := strings.Repeat("m", 129)
	cases := []struct {
		name    string
		line    string
		problem string
		usage   string
	}{
		{"missing version", "promote model fraud-detector",
			"Missing <version>.", promoteUsage},
		{"missing model", "promote model",
			"Missing <model>.", promoteUsage},
		{"extra argument", "promote model fraud-detector 3 extra",
			"Unexpected argument `extra`.", promoteUsage},
		{"unknown flag", "promote model fraud-detector 3 --stage Production",
			"Unknown flag `--stage`.", promoteUsage},
		{"duplicate flag", "promote model fraud-detector 3 --to Staging --to Production",
			"Flag --to is given twice.", promoteUsage},
		{"flag without value", "promote model fraud-detector 3 --to",
			"Flag --to needs a value.", promoteUsage},
		{"flag with empty value", "promote model fraud-detector 3 --to=",
			"Flag --to needs a value.", promoteUsage},
		{"flag with empty quoted value", `promote model fraud-detector 3 --to ""`,
			"Flag --to needs a value.", promoteUsage},
		{"path in model name", "promote model ../etc 3",
			"Invalid model name `../etc`: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.", promoteUsage},
		{"quoted space in model name", `promote model "a b" 3`,
			"Invalid model name `a b`: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.", promoteUsage},
		{"semicolon in model name", "promote model fraud;rm 3",
			"Invalid model name `fraud;rm`: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.", promoteUsage},
		{"129-character model name", "promote model " + long + " 3",
			"Invalid model name `" + strings.Repeat("m", 40) + "…`: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.", promoteUsage},
		{"unicode model name", "promote model modèle 3",
			"Invalid model name `modèle`: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.", promoteUsage},
		{"version zero", "promote model fraud-detector 0",
			"Invalid model version `0`: use the version number MLflow shows, such as 3.", promoteUsage},
		{"negative version", "promote model fraud-detector -1",
			"Invalid model version `-1`: use the version number MLflow shows, such as 3.", promoteUsage},
		{"decimal version", "promote model fraud-detector 3.1",
			"Invalid model version `3.1`: use the version number MLflow shows, such as 3.", promoteUsage},
		{"11-digit version", "promote model fraud-detector 99999999999",
			"Invalid model version `99999999999`: use the version number MLflow shows, such as 3.", promoteUsage},
		{"target None", "promote model fraud-detector 3 --to None",
			"Cannot promote to stage None: use Staging, Production or an alias such as champion.", promoteUsage},
		{"target Archived", "promote model fraud-detector 3 --to archived",
			"Cannot promote to stage Archived: use Staging, Production or an alias such as champion.", promoteUsage},
		{"reserved alias latest", "promote model fraud-detector 3 --to latest",
			"Invalid target `latest`: use Staging, Production or an alias of letters, digits, '_' or '-' (not \"latest\" or v<number>).", promoteUsage},
		{"reserved alias v2", "promote model fraud-detector 3 --to v2",
			"Invalid target `v2`: use Staging, Production or an alias of letters, digits, '_' or '-' (not \"latest\" or v<number>).", promoteUsage},
		{"approve without request", "approve",
			"`approve` takes one request and, optionally, the revision that its gate message shows.", "approve <request> [revision]"},
		{"status with two requests", "status #1 #2",
			"`status` takes exactly one request.", "status <request>"},
		{"status with bad request", "status issue-4",
			"`issue-4` is not a request: use the issue number, such as #42, or a request id such as R-7.", "status <request>"},
		{"issue number zero", "status #0",
			"`#0` is not a request: use the issue number, such as #42, or a request id such as R-7.", "status <request>"},
		{"reject without reason", "reject #4",
			"`reject` needs a request and a reason.", "reject <request> <reason>"},
		{"reason too long", "reject #4 " + strings.Repeat("x", 1001),
			"The reason is longer than 1000 characters.", "reject <request> <reason>"},
		{"unclosed quote", `reject #4 "metrics regressed`,
			`A quote (") is not closed.`, "help"},
		{"unclosed single quote", "reject #4 'metrics regressed",
			"A quote (') is not closed.", "help"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := grammar.Parse(tc.line)
			var usageErr *bot.UsageError
			require.ErrorAs(t, err, &usageErr)
			assert.Equal(t, tc.problem, usageErr.Problem, "problem")
			assert.Equal(t, tc.usage, usageErr.Usage, "usage")
			assert.Empty(t, usageErr.Suggestion, "suggestion")
		})
	}
}

func TestGrammarParseBuiltins(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	cases := []struct {
		name   string
		line   string
		verb   string
		ref    bot.RequestRef
		reason string
		topic  string
	}{
		{"status with hash", "status #42", bot.VerbStatus, bot.RequestRef{Issue: 42}, "", ""},
		{"status with number", "status 42", bot.VerbStatus, bot.RequestRef{Issue: 42}, "", ""},
		{"status with issue URL", "status https://github.com/acme/ml-requests/issues/42",
			bot.VerbStatus, bot.RequestRef{Issue: 42}, "", ""},
		{"status with request id", "status R-7", bot.VerbStatus, bot.RequestRef{ID: 7}, "", ""},
		{"approve", "/mlops approve #3", bot.VerbApprove, bot.RequestRef{Issue: 3}, "", ""},
		{"cancel", "cancel #3", bot.VerbCancel, bot.RequestRef{Issue: 3}, "", ""},
		{"verb ignores case", "STATUS #5", bot.VerbStatus, bot.RequestRef{Issue: 5}, "", ""},
		{"reject with quoted reason", `reject #4 "metrics regressed on segment B"`,
			bot.VerbReject, bot.RequestRef{Issue: 4}, "metrics regressed on segment B", ""},
		{"reject with bare words", "reject #4 metrics   regressed",
			bot.VerbReject, bot.RequestRef{Issue: 4}, "metrics regressed", ""},
		{"empty line", "", bot.VerbHelp, bot.RequestRef{}, "", ""},
		{"prefix alone", "/mlops", bot.VerbHelp, bot.RequestRef{}, "", ""},
		{"help with topic", "help promote model", bot.VerbHelp, bot.RequestRef{}, "", "promote model"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd, err := grammar.Parse(tc.line)
			require.NoError(t, err)
			assert.Equal(t, tc.verb, cmd.Verb, "verb")
			assert.Equal(t, tc.ref, cmd.Ref, "request")
			assert.Equal(t, tc.reason, cmd.Reason, "reason")
			assert.Equal(t, tc.topic, cmd.Topic, "topic")
			assert.Nil(t, cmd.SOP, "SOP")
		})
	}
}

func TestGrammarParseUnknown(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	cases := []struct {
		name       string
		line       string
		problem    string
		suggestion string
		usage      string
	}{
		{"typo in promote", "promte model x 1",
			"Unknown command `promte model x 1`.", "/mlops promote model", promoteUsage},
		{"typo in status", "stauts #1",
			"Unknown command `stauts #1`.", "/mlops status", "status <request>"},
		{"nothing close", "deploy everything now",
			"Unknown command `deploy everything now`.", "", "help"},
		{"prefix glued to a word", "/mlopsx status #1",
			"Unknown command `/mlopsx status #1`.", "", "help"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := grammar.Parse(tc.line)
			var usageErr *bot.UsageError
			require.ErrorAs(t, err, &usageErr)
			assert.Equal(t, tc.problem, usageErr.Problem, "problem")
			assert.Equal(t, tc.suggestion, usageErr.Suggestion, "suggestion")
			assert.Equal(t, tc.usage, usageErr.Usage, "usage")
		})
	}
}

func TestUsageErrorMessage(t *testing.T) {
	t.Parallel()
	err := &bot.UsageError{Problem: "Unknown command `stauts #1`.", Suggestion: "/mlops status", Usage: "status <request>"}
	want := "Unknown command `stauts #1`. Did you mean `/mlops status`?\nUsage: `/mlops status <request>`"
	assert.Equal(t, want, err.Error())
}

func TestExtractCommand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		body  string
		want  string
		found bool
	}{
		{"alone", "/mlops approve #1", "/mlops approve #1", true},
		{"second line of a paragraph", "Looks good to me.\n/mlops approve #1", "/mlops approve #1", true},
		{"later paragraph", "Thanks!\n\n/mlops status #1\n", "/mlops status #1", true},
		{"inline comment stripped", "/mlops approve #1 <!-- checked the metrics -->", "/mlops approve #1", true},
		{"fenced block", "```\n/mlops approve #1\n```\n", "", false},
		{"tilde fence", "~~~\n/mlops approve #1\n~~~\n", "", false},
		{"indented code block", "Example:\n\n    /mlops approve #1\n", "", false},
		{"block quote", "> /mlops approve #1\n", "", false},
		{"HTML comment block", "<!--\n/mlops approve #1\n-->\n", "", false},
		{"one-line HTML comment", "<!-- /mlops approve #1 -->\n", "", false},
		{"list item", "- /mlops approve #1\n", "", false},
		{"numbered list item", "1. /mlops approve #1\n", "", false},
		{"prefix glued to a word", "/mlopsx approve #1", "", false},
		{"prefix mid-line", "please run /mlops approve #1", "", false},
		{"first command wins", "/mlops approve #1\n\n/mlops reject #1 no", "/mlops approve #1", true},
		{"quoted command skipped for a later one", "> /mlops cancel #1\n\n/mlops approve #1", "/mlops approve #1", true},
		{"CRLF body", "LGTM\r\n/mlops approve #1\r\n", "/mlops approve #1", true},
		{"no command", "LGTM", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, found := bot.ExtractCommand(tc.body)
			assert.Equal(t, tc.found, found, "found")
			assert.Equal(t, tc.want, got, "command")
		})
	}
}

func TestValidateParamsListsEveryMissing(t *testing.T) {
	lib, err := sop.Embedded()
	require.NoError(t, err)
	s, ok := lib.Get("SOP-01")
	require.True(t, ok)
	_, err = bot.ValidateParams(s, map[string]string{})
	require.Error(t, err)
	assert.Equal(t, "Missing <project>, <team>, <cost-center>.", err.Error())
}

const rotateUsage = "rotate secret <secret> -n|--namespace <namespace> --deployment <deployment>"

func TestGrammarFlagProblems(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	cases := []struct {
		name    string
		line    string
		problem string
	}{
		{"flag followed by a short flag", "rotate secret mlflow-secrets --deployment -n mlops",
			"Flag --deployment needs a value, but `-n` follows it; write --deployment <deployment>."},
		{"short flag followed by a flag", "rotate secret mlflow-secrets -n --deployment d",
			"Flag --namespace needs a value, but `--deployment` follows it; write --namespace <namespace>."},
		{"flag followed by a flag with a value", "rotate secret mlflow-secrets -n --deployment=d",
			"Flag --namespace needs a value, but `--deployment` follows it; write --namespace <namespace>."},
		{"upper-case short flag", "rotate secret mlflow-secrets -N mlops --deployment d",
			"Unknown flag `-N`: flags are case-sensitive, so write -n."},
		{"upper-case long flag", "rotate secret mlflow-secrets --Namespace mlops --deployment d",
			"Unknown flag `--Namespace`: flags are case-sensitive, so write --namespace."},
		{"unknown short flag", "rotate secret mlflow-secrets -x mlops --deployment d",
			"Unknown flag `-x`."},
		{"zero-width space in a name", "rotate secret mlflow\u200b-secrets -n mlops --deployment d",
			"The command contains the invisible character U+200B at byte 20; type the command again without it."},
		{"bidi override in a reason", "reject #1 looks \u202egood",
			"The command contains the invisible character U+202E at byte 16; type the command again without it."},
		{"no-break space in a name", `rotate secret "mlflow` + "\u00a0" + `secrets" -n mlops --deployment d`,
			"Invalid name `mlflow\\u00a0secrets` for <secret>: use at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := grammar.Parse(tc.line)
			var usageErr *bot.UsageError
			require.ErrorAs(t, err, &usageErr)
			assert.Equal(t, tc.problem, usageErr.Problem, "problem")
		})
	}
}

func TestGrammarUnicodeSpacesSeparate(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	want := map[string]string{"secret": "mlflow-secrets", "namespace": "mlops", "deployment": "d"}
	for name, space := range map[string]string{"no-break space": "\u00a0", "ideographic space": "\u3000", "narrow no-break space": "\u202f"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd, err := grammar.Parse("/mlops" + space + "rotate secret mlflow-secrets" + space + "-n mlops --deployment" + space + "d")
			require.NoError(t, err)
			assert.Equal(t, want, cmd.Params)
		})
	}
}

func TestGrammarCommandWordsFoldASCIIOnly(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	_, err := grammar.Parse("rotate \u017fecret mlflow-secrets -n mlops --deployment d") // long s
	var usageErr *bot.UsageError
	require.ErrorAs(t, err, &usageErr)
	assert.Equal(t, "Unknown command `rotate \u017fecret mlflow-secrets -n mlops --deployment d`.", usageErr.Problem)
	assert.Equal(t, rotateUsage, usageErr.Usage, "the closest command is suggested")
}

func TestOnboardProjectMaxLength(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	project := "p" + strings.Repeat("a", 58) + "z"
	cmd, err := grammar.Parse("onboard project " + project + " --team risk --cost-center cc-42")
	require.NoError(t, err, "a 60-character project makes a 63-character namespace")
	assert.Equal(t, project, cmd.Params["project"])

	_, err = grammar.Parse("onboard project " + project + "a --team risk --cost-center cc-42")
	var usageErr *bot.UsageError
	require.ErrorAs(t, err, &usageErr)
	assert.Contains(t, usageErr.Problem, "for <project>: use at most 60 lowercase letters, digits or '-'")
}

func TestUserTextQuotedInert(t *testing.T) {
	t.Parallel()
	grammar := newGrammar(t)
	cases := []struct {
		name    string
		line    string
		problem string
	}{
		{"team mention in an unknown command", "foo` @acme/security ` bar",
			"Unknown command `fooˋ @\u2060acme/security ˋ bar`."},
		{"Slack broadcast in an argument", "promote model fraud-detector 3 <!here>",
			"Unexpected argument `‹!here›`."},
		{"Slack user mention in a request", "status <@U0DANA|dana>",
			"`‹@\u2060U0DANA|dana›` is not a request: use the issue number, such as #42, or a request id such as R-7."},
		{"markdown link in a flag", "promote model fraud-detector 3 --[x](https://evil.example)",
			"Unknown flag `--[x](https://evil.example)`."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := grammar.Parse(tc.line)
			var usageErr *bot.UsageError
			require.ErrorAs(t, err, &usageErr)
			assert.Equal(t, tc.problem, usageErr.Problem, "problem")
			assert.Equal(t, 2, strings.Count(usageErr.Problem, "`"), "one code span holds the user text")
		})
	}

	_, err := grammar.Parse(`promote model fraud-detector 3 ""`)
	var usageErr *bot.UsageError
	require.ErrorAs(t, err, &usageErr)
	assert.Equal(t, `Unexpected argument "".`, usageErr.Problem, "an empty value is shown as an empty string, not an empty code span")
}
