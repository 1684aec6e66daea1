package bot

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sopbot/sopbot/sop"
)

// Prefix starts every command, in Slack (the slash command's name) and in
// GitHub comments.
const Prefix = "/mlops"

// Verbs of the built-in commands that act on an existing request.
const (
	VerbStatus  = "status"
	VerbApprove = "approve"
	VerbReject  = "reject"
	VerbCancel  = "cancel"
	VerbRetry   = "retry"
	VerbHelp    = "help"
	// VerbInventory lists the project inventory and VerbSecrets the
	// secret inventory.
	VerbInventory = "inventory"
	VerbSecrets   = "secrets"
)

// Command is one parsed command line.
type Command struct {
	Verb string // a built-in verb, or "open" for an SOP command
	// SOP and Params are set for a command that opens a request.
	SOP    *sop.SOP
	Params map[string]string
	// Ref names the request a built-in command acts on.
	Ref    RequestRef
	Reason string // for reject
	// Revision is the request revision an approve command signs, a prefix
	// of at least 7 hex digits, or "" for the current one.
	Revision string
	Topic    string // for help
	Text     string // the command line as typed, without the prefix
}

// VerbOpen is the Verb of a command that opens a request.
const VerbOpen = "open"

// RequestRef names a request: by issue number ("#42", "42", an issue URL)
// or by id before its issue exists ("R-7").
type RequestRef struct {
	Issue int
	ID    int64
}

// String returns the reference as a user would type it.
func (r RequestRef) String() string {
	if r.Issue > 0 {
		return fmt.Sprintf("#%d", r.Issue)
	}
	return fmt.Sprintf("R-%d", r.ID)
}

// UsageError is a command the parser rejected. Its message is safe to show
// to the user who typed the command.
type UsageError struct {
	Problem    string
	Usage      string
	Suggestion string
	// Detail follows the usage line, such as the list of commands.
	Detail string
}

func (e *UsageError) Error() string {
	var b strings.Builder
	b.WriteString(e.Problem)
	if e.Suggestion != "" {
		fmt.Fprintf(&b, " Did you mean `%s`?", e.Suggestion)
	}
	if e.Usage != "" {
		fmt.Fprintf(&b, "\nUsage: `%s %s`", Prefix, e.Usage)
	}
	if e.Detail != "" {
		b.WriteString("\n" + e.Detail)
	}
	return b.String()
}

// Grammar parses command lines for the SOPs of one library.
type Grammar struct {
	sops []*sop.SOP
}

// NewGrammar builds the grammar of the built-in commands and of every SOP
// in lib that has a command in its binding.
func NewGrammar(lib *sop.Library) *Grammar {
	g := &Grammar{}
	for _, s := range lib.SOPs() {
		if s.Binding != nil && len(s.Binding.Usage.Words) > 0 {
			g.sops = append(g.sops, s)
		}
	}
	return g
}

var builtinUsage = map[string]string{
	VerbStatus:    "status <request>",
	VerbApprove:   "approve <request> [revision]",
	VerbReject:    "reject <request> <reason>",
	VerbCancel:    "cancel <request>",
	VerbRetry:     "retry <request>",
	VerbHelp:      "help [command]",
	VerbPromote:   "promote <request>",
	VerbInventory: "inventory",
	VerbSecrets:   "secrets",
}

// Parse parses a command line. The line may start with the prefix.
func (g *Grammar) Parse(line string) (Command, error) {
	text := strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(text, Prefix); ok && startsWithSpace(rest) {
		text = strings.TrimSpace(rest)
	}
	tokens, err := tokenize(text)
	if err != nil {
		return Command{}, withUsage(err, "help")
	}
	if len(tokens) == 0 {
		return Command{Verb: VerbHelp, Text: text}, nil
	}
	verb := strings.ToLower(tokens[0])
	var cmd Command
	switch verb {
	case VerbHelp:
		cmd = Command{Verb: VerbHelp, Topic: strings.Join(tokens[1:], " ")}
		if words := topicWords(cmd.Topic); len(words) > 0 && len(g.helpMatches(words)) == 0 {
			err = g.unknownTopic(words)
		}
	case VerbStatus, VerbCancel, VerbRetry:
		cmd, err = parseRefCommand(verb, tokens[1:])
	case VerbApprove:
		cmd, err = parseApprove(tokens[1:])
	case VerbReject:
		cmd, err = parseReject(tokens[1:])
	case VerbInventory, VerbSecrets:
		cmd = Command{Verb: verb}
		if len(tokens) > 1 {
			err = &UsageError{Problem: fmt.Sprintf("`%s` takes no arguments.", verb), Usage: builtinUsage[verb]}
		}
	case VerbPromote:
		cmd, err = g.parsePromote(tokens)
	default:
		cmd, err = g.parseSOPCommand(tokens)
	}
	cmd.Text = text
	return cmd, err
}

func parseRefCommand(verb string, args []string) (Command, error) {
	usage := builtinUsage[verb]
	if len(args) != 1 {
		return Command{}, &UsageError{Problem: fmt.Sprintf("`%s` takes exactly one request.", verb), Usage: usage}
	}
	ref, err := ParseRequestRef(args[0])
	if err != nil {
		return Command{}, withUsage(err, usage)
	}
	return Command{Verb: verb, Ref: ref}, nil
}

// parseApprove parses "approve <request> [revision]". The revision, as a
// gate message shows it, makes the sign-off count only while the request
// is still that revision.
func parseApprove(args []string) (Command, error) {
	usage := builtinUsage[VerbApprove]
	if len(args) == 0 || len(args) > 2 {
		return Command{}, &UsageError{Problem: "`approve` takes one request and, optionally, the revision that its gate message shows.", Usage: usage}
	}
	cmd, err := parseRefCommand(VerbApprove, args[:1])
	if err != nil {
		return Command{}, err
	}
	if len(args) == 2 {
		revision := strings.ToLower(args[1])
		if !isRevision(revision) {
			return Command{}, &UsageError{Problem: fmt.Sprintf("%s is not a revision: give at least %d of the hex digits that the gate message shows after Revision.",
				quoteInput(args[1], 70), minRevisionPrefix), Usage: usage}
		}
		cmd.Revision = revision
	}
	return cmd, nil
}

func parseReject(args []string) (Command, error) {
	usage := builtinUsage[VerbReject]
	if len(args) < 2 {
		return Command{}, &UsageError{Problem: "`reject` needs a request and a reason.", Usage: usage}
	}
	ref, err := ParseRequestRef(args[0])
	if err != nil {
		return Command{}, withUsage(err, usage)
	}
	reason := strings.Join(args[1:], " ")
	if len(reason) > 1000 {
		return Command{}, &UsageError{Problem: "The reason is longer than 1000 characters.", Usage: usage}
	}
	return Command{Verb: VerbReject, Ref: ref, Reason: reason}, nil
}

var (
	issueRefPattern = regexp.MustCompile(`^#?([1-9][0-9]{0,9})$`)
	idRefPattern    = regexp.MustCompile(`^[Rr]-([1-9][0-9]{0,17})$`)
	urlRefPattern   = regexp.MustCompile(`^https?://[^\s/]+/[^\s/]+/[^\s/]+/(?:issues|pull)/([1-9][0-9]{0,9})/?$`)
)

// ParseRequestRef parses "#42", "42", "R-7" or an issue URL.
func ParseRequestRef(s string) (RequestRef, error) {
	for _, pattern := range []*regexp.Regexp{issueRefPattern, urlRefPattern} {
		if m := pattern.FindStringSubmatch(s); m != nil {
			n, _ := strconv.Atoi(m[1])
			return RequestRef{Issue: n}, nil
		}
	}
	if m := idRefPattern.FindStringSubmatch(s); m != nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		return RequestRef{ID: id}, nil
	}
	return RequestRef{}, problemf("%s is not a request: use the issue number, such as #42, or a request id such as R-7.", quoteInput(s, 40))
}

func (g *Grammar) parseSOPCommand(tokens []string) (Command, error) {
	for _, s := range g.sops {
		usage := s.Binding.Usage
		if len(tokens) < len(usage.Words) || !wordsMatch(tokens[:len(usage.Words)], usage.Words) {
			continue
		}
		params, err := bindArgs(s, tokens[len(usage.Words):])
		if err != nil {
			return Command{}, withUsage(err, s.Binding.Command)
		}
		return Command{Verb: VerbOpen, SOP: s, Params: params}, nil
	}
	return Command{}, g.unknown(tokens)
}

// wordsMatch compares the typed words with a usage line's literal words,
// ignoring ASCII case only: strings.EqualFold would also match "ſecret"
// (long s) and the Kelvin sign K with s and k.
func wordsMatch(tokens, words []string) bool {
	for i, w := range words {
		if !isASCII(tokens[i]) || !strings.EqualFold(tokens[i], w) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// bindArgs assigns positional arguments and flags to parameters, applies
// defaults and validates every value.
func bindArgs(s *sop.SOP, args []string) (map[string]string, error) {
	usage := s.Binding.Usage
	params := map[string]string{}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !isFlagToken(arg) {
			positional = append(positional, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		short := !strings.HasPrefix(arg, "--")
		flag, ok := findFlag(usage.Flags, name, short)
		if !ok {
			return nil, unknownFlag(usage.Flags, strings.SplitN(arg, "=", 2)[0], name, short)
		}
		if !hasValue && i+1 < len(args) {
			if next := args[i+1]; isFlagToken(next) {
				return nil, problemf("Flag --%s needs a value, but %s follows it; write --%s <%s>.",
					flag.Name, quoteInput(strings.SplitN(next, "=", 2)[0], 40), flag.Name, flag.Param)
			}
			i++
			value = args[i]
		}
		if value == "" {
			return nil, problemf("Flag --%s needs a value.", flag.Name)
		}
		if _, dup := params[flag.Param]; dup {
			return nil, problemf("Flag --%s is given twice.", flag.Name)
		}
		params[flag.Param] = value
	}
	for _, flag := range usage.Flags {
		if _, given := params[flag.Param]; flag.Required && !given {
			return nil, problemf("Missing --%s <%s>.", flag.Name, flag.Param)
		}
	}
	if len(positional) < len(usage.Args) {
		return nil, problemf("Missing <%s>.", usage.Args[len(positional)])
	}
	if len(positional) > len(usage.Args) {
		return nil, problemf("Unexpected argument %s.", quoteInput(positional[len(usage.Args)], 40))
	}
	for i, name := range usage.Args {
		params[name] = positional[i]
	}
	return validateParams(s.Binding.Params, params)
}

// isFlagToken reports whether arg is "--name", "--name=value" or "-x" for
// an ASCII letter x of either case, so that "-N" is reported as an
// unknown flag. A lone "-" or a negative number stays a positional
// argument.
func isFlagToken(arg string) bool {
	if strings.HasPrefix(arg, "--") {
		return len(arg) > 2
	}
	return len(arg) >= 2 && arg[0] == '-' && (arg[1] >= 'a' && arg[1] <= 'z' || arg[1] >= 'A' && arg[1] <= 'Z')
}

// unknownFlag builds the error for a flag the usage line lacks, naming the
// flag the user probably meant when only the letter case differs.
func unknownFlag(flags []sop.UsageFlag, typed, name string, short bool) error {
	for _, f := range flags {
		switch {
		case short && f.Short != "" && strings.EqualFold(f.Short, name):
			return problemf("Unknown flag %s: flags are case-sensitive, so write -%s.", quoteInput(typed, 40), f.Short)
		case !short && strings.EqualFold(f.Name, name):
			return problemf("Unknown flag %s: flags are case-sensitive, so write --%s.", quoteInput(typed, 40), f.Name)
		}
	}
	return problemf("Unknown flag %s.", quoteInput(typed, 40))
}

func findFlag(flags []sop.UsageFlag, name string, short bool) (sop.UsageFlag, bool) {
	for _, f := range flags {
		if (!short && f.Name == name) || (short && f.Short != "" && f.Short == name) {
			return f, true
		}
	}
	return sop.UsageFlag{}, false
}

// unknown builds the error for a command that matches nothing, with the
// closest known command as a suggestion.
func (g *Grammar) unknown(tokens []string) error {
	typed := strings.ToLower(strings.Join(tokens[:min(len(tokens), 2)], " "))
	candidates := []string{VerbStatus, VerbApprove, VerbReject, VerbCancel, VerbRetry, VerbInventory, VerbSecrets, VerbHelp}
	for _, s := range g.sops {
		candidates = append(candidates, strings.Join(s.Binding.Usage.Words, " "))
	}
	best, bestDistance := "", 1<<30
	for _, c := range candidates {
		probe := typed
		if words := strings.Count(c, " ") + 1; words == 1 {
			probe = strings.ToLower(tokens[0])
		}
		if d := levenshtein(probe, c); d < bestDistance {
			best, bestDistance = c, d
		}
	}
	err := &UsageError{Problem: fmt.Sprintf("Unknown command %s.", quoteInput(strings.Join(tokens, " "), 60)), Usage: "help"}
	if bestDistance <= max(2, len(best)/3) {
		err.Suggestion = Prefix + " " + best
		err.Usage = g.usageOf(best)
	}
	return err
}

func (g *Grammar) usageOf(words string) string {
	if u, ok := builtinUsage[words]; ok {
		return u
	}
	for _, s := range g.sops {
		if strings.Join(s.Binding.Usage.Words, " ") == words {
			return s.Binding.Command
		}
	}
	return "help"
}

// tokenize splits a command line on white space, Unicode spaces such as
// the no-break space included, honouring single and double quotes so a
// reason can contain spaces. It rejects characters that show nothing but
// would change a token, such as a zero-width space.
func tokenize(text string) ([]string, error) {
	if len(text) > 4000 {
		return nil, problemf("The command is longer than 4000 characters.")
	}
	var tokens []string
	var current strings.Builder
	inToken := false
	var quote rune
	for i, r := range text {
		switch {
		case isHidden(r):
			return nil, problemf("The command contains the invisible character %U at byte %d; type the command again without it.", r, i)
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			current.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inToken = r, true
		case unicode.IsSpace(r):
			if inToken {
				tokens = append(tokens, current.String())
				current.Reset()
				inToken = false
			}
		default:
			current.WriteRune(r)
			inToken = true
		}
	}
	if quote != 0 {
		return nil, problemf("A quote (%c) is not closed.", quote)
	}
	if inToken {
		tokens = append(tokens, current.String())
	}
	return tokens, nil
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

func startsWithSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s == "" || unicode.IsSpace(r)
}

// isHidden reports whether r is a zero-width or bidirectional control
// character. Such a character inside a word makes it differ from what the
// user sees. Zero-width joiners stay allowed, since emoji and some scripts
// need them in a reason.
func isHidden(r rune) bool {
	switch {
	case r == 0x200B, r == 0x2060, r == 0xFEFF: // zero-width space, word joiner, byte order mark
		return true
	case r == 0x200E, r == 0x200F, r == 0x061C: // directional marks
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069: // bidirectional embeddings, overrides and isolates
		return true
	}
	return false
}

// Look-alikes that quoteInput puts in place of the characters that end a
// code span or start Slack's mention and link syntax.
const (
	graveLookalike = 'ˋ' // U+02CB modifier letter grave accent
	lessLookalike  = '‹' // U+2039
	moreLookalike  = '›' // U+203A
	wordJoiner     = '\u2060'
)

// quoteInput renders text a user typed, clipped to n runes, as an inline
// code span that is inert in GitHub Markdown and in Slack mrkdwn, where
// replies go. A Slack code span cannot hold a backtick, and Slack reads
// <…> as mention and link syntax, so backticks, '<' and '>' become
// look-alikes. A word joiner after each '@' keeps mention parsers from
// matching, and characters that do not print are shown as escapes such
// as \u00a0.
func quoteInput(s string, n int) string {
	if s == "" {
		return `""`
	}
	var b strings.Builder
	b.WriteByte('`')
	for _, r := range clip(s, n) {
		switch {
		case r == '`':
			b.WriteRune(graveLookalike)
		case r == '<':
			b.WriteRune(lessLookalike)
		case r == '>':
			b.WriteRune(moreLookalike)
		case r == '@':
			b.WriteRune('@')
			b.WriteRune(wordJoiner)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('`')
	return b.String()
}

// problemf returns a UsageError whose message is safe to show the user.
func problemf(format string, args ...any) error {
	return &UsageError{Problem: fmt.Sprintf(format, args...)}
}

// withUsage adds the usage line to a UsageError.
func withUsage(err error, usage string) error {
	var usageErr *UsageError
	if errors.As(err, &usageErr) {
		copied := *usageErr
		copied.Usage = usage
		return &copied
	}
	return err
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
