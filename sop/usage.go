package sop

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	usageWord = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	paramName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	// placeholder matches "{name}" in a title or target template.
	placeholder = regexp.MustCompile(`\{([^{}]*)\}`)
)

// ParseUsage parses a command usage line: literal lower-case words, then
// "<param>" positionals, then flags. A flag is "--flag <param>" when it is
// required and "[--flag <param>]" when it is optional, and either form may
// name a one-letter short form first, as in "-n|--namespace <namespace>":
// "rotate secret <secret> -n|--namespace <namespace> [--to <to>]".
func ParseUsage(command string) (Usage, error) {
	var u Usage
	tokens := strings.Fields(command)
	i := 0
	for ; i < len(tokens) && usageWord.MatchString(tokens[i]); i++ {
		u.Words = append(u.Words, tokens[i])
	}
	if len(u.Words) == 0 {
		return Usage{}, fmt.Errorf("usage %q does not start with a literal lower-case word such as \"promote\"", command)
	}
	for ; i < len(tokens) && !strings.HasPrefix(tokens[i], "[") && !strings.HasPrefix(tokens[i], "-"); i++ {
		name, ok := angle(tokens[i])
		if !ok {
			return Usage{}, fmt.Errorf("usage %q: %q is neither <param> nor a flag; literal words must come first", command, tokens[i])
		}
		u.Args = append(u.Args, name)
	}
	seen := map[string]bool{}
	for ; i < len(tokens); i += 2 {
		flag, err := usageFlag(command, tokens[i:])
		if err != nil {
			return Usage{}, err
		}
		for _, name := range []string{flag.Name, flag.Short} {
			if name != "" && seen[name] {
				return Usage{}, fmt.Errorf("usage %q: flag %q appears twice", command, name)
			}
			seen[name] = true
		}
		u.Flags = append(u.Flags, flag)
	}
	return u, nil
}

// usageFlag parses "--name <param>", "[--name <param>]" or either with a
// "-x|" short form from the first two tokens.
func usageFlag(command string, tokens []string) (UsageFlag, error) {
	bad := fmt.Errorf("usage %q: %q does not read --flag <param> or [--flag <param>]; positionals must come before flags", command, strings.Join(tokens[:min(2, len(tokens))], " "))
	if len(tokens) < 2 {
		return UsageFlag{}, bad
	}
	head, tail := tokens[0], tokens[1]
	optional := strings.HasPrefix(head, "[")
	if optional != strings.HasSuffix(tail, "]") {
		return UsageFlag{}, bad
	}
	head, tail = strings.TrimPrefix(head, "["), strings.TrimSuffix(tail, "]")
	var short string
	if s, long, ok := strings.Cut(head, "|"); ok {
		if len(s) != 2 || s[0] != '-' || s[1] < 'a' || s[1] > 'z' {
			return UsageFlag{}, bad
		}
		short, head = s[1:], long
	}
	if !strings.HasPrefix(head, "--") {
		return UsageFlag{}, bad
	}
	name := strings.TrimPrefix(head, "--")
	param, ok := angle(tail)
	if !ok || !paramName.MatchString(name) {
		return UsageFlag{}, bad
	}
	return UsageFlag{Name: name, Short: short, Param: param, Required: !optional}, nil
}

// angle returns the name inside "<name>".
func angle(token string) (string, bool) {
	if !strings.HasPrefix(token, "<") || !strings.HasSuffix(token, ">") {
		return "", false
	}
	name := token[1 : len(token)-1]
	return name, paramName.MatchString(name)
}

// Params returns the parameter names the usage line mentions, positionals
// first.
func (u Usage) Params() []string {
	names := append([]string(nil), u.Args...)
	for _, f := range u.Flags {
		names = append(names, f.Param)
	}
	return names
}

var (
	modelName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$`)
	aliasName    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,254}$`)
	k8sLabelName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

// validKinds lists the ParamKind values a binding may use.
var validKinds = []ParamKind{KindModelName, KindModelVersion, KindStageOrAlias, KindK8sName, KindText}

// kindMaxLength is the longest value, in bytes, that each kind accepts.
var kindMaxLength = map[ParamKind]int{
	KindModelName:    256,
	KindModelVersion: 19, // the digits of the largest 63-bit integer
	KindStageOrAlias: 255,
	KindK8sName:      63,
	KindText:         200,
}

// maxLength returns the longest value the parameter accepts, in bytes.
func (p Param) maxLength() int {
	if p.MaxLength > 0 {
		return p.MaxLength
	}
	return kindMaxLength[p.Kind]
}

// Validate checks value against the parameter's kind and MaxLength and
// returns an error that names the parameter and the expected form.
//
// NOTE: model-name accepts letters, digits, '.', '_' and '-', which is
// narrower than what MLflow itself allows.
func (p Param) Validate(value string) error {
	ok := false
	want := ""
	limit := p.maxLength()
	switch p.Kind {
	case KindModelName:
		ok, want = modelName.MatchString(value), "letters, digits, '.', '_' or '-', starting with a letter or digit"
	case KindModelVersion:
		n, err := strconv.ParseUint(value, 10, 63)
		ok, want = err == nil && n > 0 && value[0] != '+', "a positive decimal integer such as 3"
	case KindStageOrAlias:
		ok, want = aliasName.MatchString(value), "a stage (None, Staging, Production, Archived) or an alias such as champion"
	case KindK8sName:
		ok, want = k8sLabelName.MatchString(value), fmt.Sprintf("a Kubernetes name: lower-case letters, digits and '-', at most %d characters", limit)
	case KindText:
		ok, want = value != "" && !strings.ContainsFunc(value, isControl), fmt.Sprintf("non-empty text of at most %d bytes on one line", limit)
	default:
		return fmt.Errorf("parameter %q has unknown kind %q", p.Name, p.Kind)
	}
	if ok && len(value) > limit {
		ok = false
		if p.Kind != KindK8sName && p.Kind != KindText {
			want += fmt.Sprintf(", at most %d characters", limit)
		}
	}
	if !ok {
		return fmt.Errorf("invalid %s %q: expected %s", p.Name, value, want)
	}
	return nil
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029
}
