package bot

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sopbot/sopbot/sop"
)

// commandHelp is the help of one command, as `/mlops help <command>`
// prints it.
type commandHelp struct {
	// words are the command's literal words, such as ["promote", "model"].
	words []string
	// sopID is the id of the SOP that the command opens, or "" for a
	// built-in command.
	sopID   string
	usage   string // the usage line without the prefix
	summary string
	args    []paramHelp
	flags   []paramHelp
	// example is a command line without the prefix that the grammar
	// accepts, or "" when none could be built from the SOP's parameters.
	example string
}

// paramHelp is one argument or flag: how it is written and what it sets.
type paramHelp struct {
	syntax string // such as "`<model>`" or "`-n`, `--namespace <namespace>`"
	text   string
}

const requestArgHelp = "the issue number (#42, 42 or the issue URL) or, before its issue opens, the request id (R-7)"

// builtinHelp lists the built-in commands in the order that Help prints
// them.
var builtinHelp = []commandHelp{
	{words: []string{VerbPromote}, summary: promoteHelp,
		args:    []paramHelp{{"`<request>`", "the retraining request, as " + requestArgHelp}},
		example: "promote #42"},
	{words: []string{VerbStatus}, summary: "show a request's state and what it is waiting for",
		args: []paramHelp{{"`<request>`", requestArgHelp}}, example: "status #42"},
	{words: []string{VerbApprove}, summary: "sign the approval step as an approver; with the revision a gate message shows, only while the request is still that revision",
		args: []paramHelp{
			{"`<request>`", requestArgHelp},
			{"`[revision]`", fmt.Sprintf("optional: at least %d hex digits of the revision that the gate message shows after Revision", minRevisionPrefix)},
		},
		example: "approve #42 3f9a2c1"},
	{words: []string{VerbReject}, summary: "reject a request as an approver, with the reason",
		args: []paramHelp{
			{"`<request>`", requestArgHelp},
			{"`<reason>`", "why the request is rejected, at most 1000 characters; the words after the request form the reason, quoted or not"},
		},
		example: `reject #42 "accuracy regressed on the holdout set"`},
	{words: []string{VerbCancel}, summary: "cancel a request (its requester or an approver)",
		args: []paramHelp{{"`<request>`", requestArgHelp}}, example: "cancel #42"},
	{words: []string{VerbRetry}, summary: "run a request's failed or interrupted action again",
		args: []paramHelp{{"`<request>`", requestArgHelp}}, example: "retry #42"},
	{words: []string{VerbInventory}, summary: "list the onboarded projects", example: "inventory"},
	{words: []string{VerbSecrets}, summary: "list the secret inventory with rotation due dates (never values)", example: "secrets"},
	{words: []string{VerbHelp}, summary: "show this help, or the usage, flags and an example of one command",
		args:    []paramHelp{{"`[command]`", "optional: a command's words, such as promote or rotate secret, or the id of the SOP it opens, such as SOP-04"}},
		example: "help rotate secret"},
}

// helpEntries returns the help of every command: the SOP commands, then
// the built-ins.
func (g *Grammar) helpEntries() []commandHelp {
	entries := make([]commandHelp, 0, len(g.sops)+len(builtinHelp))
	for _, s := range g.sops {
		entries = append(entries, sopHelp(s))
	}
	for _, h := range builtinHelp {
		h.usage = builtinUsage[h.words[0]]
		entries = append(entries, h)
	}
	return entries
}

// sopHelp builds the help of the command that opens an s request from its
// binding: the usage line, each parameter's description and an example.
func sopHelp(s *sop.SOP) commandHelp {
	usage := s.Binding.Usage
	h := commandHelp{
		words:   usage.Words,
		sopID:   s.ID,
		usage:   s.Binding.Command,
		summary: fmt.Sprintf("open an %s request (%s)", s.ID, s.Title),
	}
	params := map[string]sop.Param{}
	for _, p := range s.Binding.Params {
		params[p.Name] = p
	}
	example := slices.Clone(usage.Words)
	for _, name := range usage.Args {
		h.args = append(h.args, paramHelp{fmt.Sprintf("`<%s>`", name), params[name].Description})
		example = append(example, exampleValue(params[name]))
	}
	for _, f := range usage.Flags {
		syntax := fmt.Sprintf("`--%s <%s>`", f.Name, f.Param)
		if f.Short != "" {
			syntax = fmt.Sprintf("`-%s`, %s", f.Short, syntax)
		}
		switch p := params[f.Param]; {
		case f.Required:
			syntax += " (required)"
		case p.Default != "":
			syntax += fmt.Sprintf(" (optional, default `%s`)", p.Default)
		default:
			syntax += " (optional)"
		}
		h.flags = append(h.flags, paramHelp{syntax, params[f.Param].Description})
		example = append(example, "--"+f.Name, exampleValue(params[f.Param]))
	}
	// The example is built from descriptions that an SOP author wrote, so
	// it is shown only when the grammar accepts it.
	if _, err := bindArgs(s, example[len(usage.Words):]); err == nil {
		h.example = strings.Join(example, " ")
	}
	return h
}

// suchAs finds the example value in a parameter description such as
// "namespace of the secret, such as mlops".
var suchAs = regexp.MustCompile(`such as ([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)`)

// exampleValue returns a value for p in a help example: the one its
// description gives after "such as", else one that its kind accepts.
func exampleValue(p sop.Param) string {
	if m := suchAs.FindStringSubmatch(p.Description); m != nil {
		return m[1]
	}
	switch p.Kind {
	case sop.KindModelName:
		return "fraud-detector"
	case sop.KindModelVersion:
		return "3"
	case sop.KindStageOrAlias:
		return "Staging"
	}
	return "my-" + p.Name
}

// Help returns the help text: every command with its usage.
func (g *Grammar) Help() string {
	var b strings.Builder
	b.WriteString("*sopbot commands*\n")
	for _, h := range g.helpEntries() {
		fmt.Fprintf(&b, "• `%s %s`: %s\n", Prefix, h.usage, h.summary)
	}
	b.WriteString("A <request> is the issue number, such as #42. ")
	fmt.Fprintf(&b, "`%s help <command>` shows a command's flags and an example.", Prefix)
	return b.String()
}

// HelpFor returns the help of the commands that topic names, as
// `help <topic>` prints it: each one's usage, arguments, flags and an
// example. An empty topic returns Help. A topic that names no command
// returns the message of the error that Parse returns for it.
func (g *Grammar) HelpFor(topic string) string {
	words := topicWords(topic)
	if len(words) == 0 {
		return g.Help()
	}
	matches := g.helpMatches(words)
	if len(matches) == 0 {
		return g.unknownTopic(words).Error()
	}
	parts := make([]string, len(matches))
	for i, h := range matches {
		parts[i] = h.render()
	}
	return strings.Join(parts, "\n\n")
}

func (h commandHelp) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s %s`: %s", Prefix, h.usage, h.summary)
	for _, list := range []struct {
		title  string
		params []paramHelp
	}{{"Arguments", h.args}, {"Flags", h.flags}} {
		if len(list.params) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:", list.title)
		for _, p := range list.params {
			fmt.Fprintf(&b, "\n• %s", p.syntax)
			if p.text != "" {
				fmt.Fprintf(&b, ": %s", p.text)
			}
		}
	}
	if h.example != "" {
		fmt.Fprintf(&b, "\nExample: `%s %s`", Prefix, h.example)
	}
	return b.String()
}

// topicWords splits a help topic into words, without a leading prefix.
func topicWords(topic string) []string {
	words := strings.Fields(topic)
	if len(words) > 0 && words[0] == Prefix {
		words = words[1:]
	}
	return words
}

// helpMatches returns the commands that a help topic names: those whose
// words start with the topic's words, or the command of the SOP whose id
// the topic is. When several match, only those that match the most words
// count, so "promote" names both promote commands and "promote model"
// names one.
func (g *Grammar) helpMatches(words []string) []commandHelp {
	var matches []commandHelp
	best := 0
	for _, h := range g.helpEntries() {
		matched := 0
		switch {
		case len(words) == 1 && h.sopID != "" && isASCII(words[0]) && strings.EqualFold(words[0], h.sopID):
			matched = len(h.words)
		case len(words) <= len(h.words) && wordsMatch(words, h.words[:len(words)]):
			matched = len(words)
		default:
			continue
		}
		if matched > best {
			matches, best = nil, matched
		}
		if matched == best {
			matches = append(matches, h)
		}
	}
	return matches
}

// unknownTopic builds the error for a help topic that names no command:
// the closest command name as a suggestion, and every command name.
func (g *Grammar) unknownTopic(words []string) error {
	typed := strings.ToLower(strings.Join(words, " "))
	names := g.CommandNames()
	best, bestDistance := "", 1<<30
	for _, name := range names {
		if d := levenshtein(typed, name); d < bestDistance {
			best, bestDistance = name, d
		}
	}
	if bestDistance > max(2, len(best)/3) {
		// The topic may be a whole command line, such as "status #42":
		// suggest the longest command whose words start it.
		best = ""
		for _, name := range names {
			prefix := strings.Fields(name)
			if len(prefix) < len(words) && wordsMatch(words[:len(prefix)], prefix) && len(name) > len(best) {
				best = name
			}
		}
	}
	quoted := make([]string, len(names))
	for i, name := range names {
		quoted[i] = "`" + name + "`"
	}
	err := &UsageError{
		Problem: fmt.Sprintf("No command is named %s.", quoteInput(strings.Join(words, " "), 60)),
		Usage:   builtinUsage[VerbHelp],
		Detail:  "Commands: " + strings.Join(quoted, ", ") + ".",
	}
	if best != "" {
		err.Suggestion = Prefix + " " + VerbHelp + " " + best
	}
	return err
}

// CommandNames lists the literal words of every command, sorted and
// without repeats, for tests and help. The built-in `promote <request>`
// is listed as "promote".
func (g *Grammar) CommandNames() []string {
	var names []string
	for _, h := range g.helpEntries() {
		names = append(names, strings.Join(h.words, " "))
	}
	slices.Sort(names)
	return slices.Compact(names)
}
