package bot_test

import (
	"strings"
	"testing"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/sop"
)

func FuzzGrammarParse(f *testing.F) {
	for _, seed := range []string{
		"promote model fraud-detector 3", "promote model fraud-detector 3 --to=champion", "status #42",
		"reject #4 \"metrics regressed\"", "approve https://github.com/acme/ml-requests/issues/7", "help",
		"promte model x 1", "retry R-7", "'unclosed", "--to --to", "\x00\xff", strings.Repeat("a ", 3000),
	} {
		f.Add(seed)
	}
	lib, err := sop.Embedded()
	if err != nil {
		f.Fatal(err)
	}
	grammar := bot.NewGrammar(lib)
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := grammar.Parse(line)
		if err == nil && cmd.Verb == bot.VerbOpen && cmd.SOP == nil {
			t.Fatalf("an open command without an SOP for %q", line)
		}
		for name, value := range cmd.Params {
			if strings.ContainsAny(value, "\n\r`|<>") {
				t.Fatalf("parameter %s=%q of %q passed validation with a Markdown-breaking character", name, value, line)
			}
		}
	})
}

func FuzzExtractCommand(f *testing.F) {
	for _, seed := range []string{
		"/mlops approve #1", "> /mlops approve #1", "```\n/mlops approve #1\n```", "    /mlops approve #1",
		"<!-- /mlops approve #1 -->", "- /mlops approve #1", "text\n\n/mlops status #2\r\n", "/mlopsx",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		line, ok := bot.ExtractCommand(body)
		if ok && !strings.HasPrefix(line, bot.Prefix) {
			t.Fatalf("extracted %q from %q, which does not start with the prefix", line, body)
		}
		if ok && strings.Contains(line, "\n") {
			t.Fatalf("extracted a multi-line command %q", line)
		}
	})
}
