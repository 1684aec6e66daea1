package mlflowfake

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

// runNameTag holds a run's name when RunInfo's run_name is empty.
const runNameTag = "mlflow.runName"

// Field prefixes of a run search filter, each mapped to the kind of value
// it reads. A field without a prefix is an attribute.
var fieldPrefixes = map[string]string{
	"metric": "metrics", "metrics": "metrics",
	"param": "params", "params": "params",
	"tag": "tags", "tags": "tags",
	"attribute": "attributes", "attributes": "attributes", "attr": "attributes", "run": "attributes",
}

// runAttributes are the attributes the fake can filter and order on, each
// marked true when its value is a number.
var runAttributes = map[string]bool{
	"run_id": false, "run_name": false, "status": false, "user_id": false, "artifact_uri": false,
	"start_time": true, "end_time": true,
}

var (
	numericOperators = []string{"=", "!=", "<", "<=", ">", ">="}
	stringOperators  = []string{"=", "!=", "LIKE", "ILIKE"}
)

// runField is a filter or order_by field such as metrics.auc or
// attributes.start_time.
type runField struct {
	kind string // metrics, params, tags or attributes
	key  string
}

func (f runField) numeric() bool {
	return f.kind == "metrics" || (f.kind == "attributes" && runAttributes[f.key])
}

// value returns the field's value in run, a float64 for a numeric field
// and a string otherwise, and false when the run has no such value: a
// missing metric, param or tag, or the end_time of an active run.
func (f runField) value(run mlflow.Run) (any, bool) {
	switch f.kind {
	case "metrics":
		value, ok := run.Metrics[f.key]
		return value, ok
	case "params":
		value, ok := run.Params[f.key]
		return value, ok
	case "tags":
		value, ok := run.Tags[f.key]
		return value, ok
	}

	switch f.key {
	case "run_id":
		return run.ID, true
	case "run_name":
		if run.Name == "" {
			return run.Tags[runNameTag], true
		}
		return run.Name, true
	case "status":
		return run.Status, true
	case "user_id":
		return run.UserID, true
	case "artifact_uri":
		return run.ArtifactURI, true
	case "start_time":
		return float64(run.StartTime), true
	case "end_time":
		return float64(run.EndTime), run.EndTime != 0
	}
	return nil, false
}

// runClause is one comparison of a filter.
type runClause struct {
	field    runField
	operator string
	value    any // float64, string, or []string for IN
}

// runClauses is a parsed filter: every clause must hold.
type runClauses []runClause

// parseRunFilter reads the subset of MLflow's run search syntax that the
// fake supports: comparisons joined by AND, on metrics, params, tags and
// the attributes in runAttributes. Keys may be quoted with backticks or
// double quotes, and string values with single or double quotes, which are
// dropped without unescaping anything inside, as MLflow does. run_id also
// takes IN with a parenthesised list.
func parseRunFilter(input string) (runClauses, error) {
	s := &scanner{input: input}
	var clauses runClauses
	for !s.done() {
		if len(clauses) > 0 {
			if joiner := s.word(); !strings.EqualFold(joiner, "AND") {
				return nil, fmt.Errorf("clauses must be joined by AND, got %q", s.restFrom(joiner))
			}
		}
		clause, err := s.clause()
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, clause)
	}
	return clauses, nil
}

func (rc runClauses) matches(run mlflow.Run) bool {
	for _, clause := range rc {
		if !clause.matches(run) {
			return false
		}
	}
	return true
}

func (c runClause) matches(run mlflow.Run) bool {
	value, ok := c.field.value(run)
	if !ok {
		return false
	}

	if number, isNumber := value.(float64); isNumber {
		want := c.value.(float64)
		switch c.operator {
		case "=":
			return number == want
		case "!=":
			return number != want
		case "<":
			return number < want
		case "<=":
			return number <= want
		case ">":
			return number > want
		case ">=":
			return number >= want
		}
		return false
	}

	text := value.(string)
	switch c.operator {
	case "=":
		return text == c.value.(string)
	case "!=":
		return text != c.value.(string)
	case "LIKE":
		return likePattern(c.value.(string), false).MatchString(text)
	case "ILIKE":
		return likePattern(c.value.(string), true).MatchString(text)
	case "IN":
		return slices.Contains(c.value.([]string), text)
	}
	return false
}

// likePattern turns a SQL LIKE pattern, where % matches any run of
// characters and _ matches one, into an anchored regular expression.
func likePattern(pattern string, foldCase bool) *regexp.Regexp {
	var expr strings.Builder
	if foldCase {
		expr.WriteString("(?i)")
	}
	expr.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '%':
			expr.WriteString(".*")
		case '_':
			expr.WriteString(".")
		default:
			expr.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	expr.WriteString("$")
	return regexp.MustCompile(expr.String())
}

// scanner reads a filter or order_by clause from left to right.
type scanner struct {
	input string
	pos   int
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.input) && (s.input[s.pos] == ' ' || s.input[s.pos] == '\t' || s.input[s.pos] == '\n') {
		s.pos++
	}
}

func (s *scanner) done() bool {
	s.skipSpace()
	return s.pos >= len(s.input)
}

func (s *scanner) rest() string {
	return s.input[s.pos:]
}

// restFrom returns the input from the start of the word just read.
func (s *scanner) restFrom(word string) string {
	return s.input[s.pos-len(word):]
}

// word reads a run of letters, digits and underscores.
func (s *scanner) word() string {
	s.skipSpace()
	start := s.pos
	for s.pos < len(s.input) && isWordByte(s.input[s.pos]) {
		s.pos++
	}
	return s.input[start:s.pos]
}

func isWordByte(b byte) bool {
	return b == '_' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
}

// quoted reads a value between quote and its next occurrence.
func (s *scanner) quoted(quote byte) (string, error) {
	end := strings.IndexByte(s.input[s.pos+1:], quote)
	if end < 0 {
		return "", fmt.Errorf("unterminated %c quote in %q", quote, s.rest())
	}
	value := s.input[s.pos+1 : s.pos+1+end]
	s.pos += end + 2
	return value, nil
}

// field reads metrics.<key>, params.<key>, tags.<key>, attributes.<name>
// or a bare attribute name.
func (s *scanner) field() (runField, error) {
	head := s.word()
	if head == "" {
		return runField{}, fmt.Errorf("expected a field at %q", s.rest())
	}
	if s.pos >= len(s.input) || s.input[s.pos] != '.' {
		return checkAttribute(runField{kind: "attributes", key: head})
	}

	kind, ok := fieldPrefixes[strings.ToLower(head)]
	if !ok {
		return runField{}, fmt.Errorf("unknown field prefix %q, want metrics, params, tags or attributes", head)
	}
	s.pos++ // the dot

	var key string
	if s.pos < len(s.input) && (s.input[s.pos] == '`' || s.input[s.pos] == '"') {
		quotedKey, err := s.quoted(s.input[s.pos])
		if err != nil {
			return runField{}, err
		}
		key = quotedKey
	} else {
		start := s.pos
		for s.pos < len(s.input) && !strings.ContainsRune(" \t\n=!<>", rune(s.input[s.pos])) {
			s.pos++
		}
		key = s.input[start:s.pos]
	}
	if key == "" {
		return runField{}, fmt.Errorf("missing key after %q", head+".")
	}

	field := runField{kind: kind, key: key}
	if kind == "attributes" {
		return checkAttribute(field)
	}
	return field, nil
}

func checkAttribute(field runField) (runField, error) {
	if _, ok := runAttributes[field.key]; !ok {
		return runField{}, fmt.Errorf("attribute %q is not supported by the fake", field.key)
	}
	return field, nil
}

// operator reads a comparison operator or LIKE, ILIKE or IN.
func (s *scanner) operator() (string, error) {
	s.skipSpace()
	for _, symbol := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(s.rest(), symbol) {
			s.pos += len(symbol)
			return symbol, nil
		}
	}
	word := strings.ToUpper(s.word())
	if word == "LIKE" || word == "ILIKE" || word == "IN" {
		return word, nil
	}
	return "", fmt.Errorf("expected an operator at %q", s.restFrom(word))
}

// value reads a quoted string, a number or a parenthesised list of quoted
// strings.
func (s *scanner) value() (any, error) {
	s.skipSpace()
	if s.pos >= len(s.input) {
		return nil, errors.New("missing value at the end of the filter")
	}

	switch s.input[s.pos] {
	case '\'', '"':
		return s.quoted(s.input[s.pos])
	case '(':
		return s.list()
	}

	start := s.pos
	for s.pos < len(s.input) && strings.ContainsRune("0123456789+-.eE", rune(s.input[s.pos])) {
		s.pos++
	}
	number, err := strconv.ParseFloat(s.input[start:s.pos], 64)
	if err != nil {
		return nil, fmt.Errorf("expected a quoted string or a number at %q", s.input[start:])
	}
	return number, nil
}

func (s *scanner) list() ([]string, error) {
	s.pos++ // the opening parenthesis
	var values []string
	for {
		s.skipSpace()
		if s.pos >= len(s.input) || (s.input[s.pos] != '\'' && s.input[s.pos] != '"') {
			return nil, fmt.Errorf("expected a quoted string in the list at %q", s.rest())
		}
		value, err := s.quoted(s.input[s.pos])
		if err != nil {
			return nil, err
		}
		values = append(values, value)

		s.skipSpace()
		if s.pos < len(s.input) && s.input[s.pos] == ',' {
			s.pos++
			continue
		}
		if s.pos < len(s.input) && s.input[s.pos] == ')' {
			s.pos++
			return values, nil
		}
		return nil, fmt.Errorf("expected , or ) in the list at %q", s.rest())
	}
}

// clause reads one comparison and checks that its operator and value suit
// the field.
func (s *scanner) clause() (runClause, error) {
	field, err := s.field()
	if err != nil {
		return runClause{}, err
	}
	operator, err := s.operator()
	if err != nil {
		return runClause{}, err
	}
	value, err := s.value()
	if err != nil {
		return runClause{}, err
	}

	name := field.kind + "." + field.key
	_, isNumber := value.(float64)
	_, isText := value.(string)
	_, isList := value.([]string)
	switch {
	case field.numeric() && (!slices.Contains(numericOperators, operator) || !isNumber):
		return runClause{}, fmt.Errorf("%s takes a number and one of %s", name, strings.Join(numericOperators, " "))
	case field.numeric():
	case operator == "IN" && field == (runField{kind: "attributes", key: "run_id"}) && isList:
	case operator == "IN":
		return runClause{}, fmt.Errorf("IN takes a list and works on attributes.run_id only, not %s", name)
	case !slices.Contains(stringOperators, operator) || !isText:
		return runClause{}, fmt.Errorf("%s takes a quoted string and one of %s", name, strings.Join(stringOperators, " "))
	}
	return runClause{field: field, operator: operator, value: value}, nil
}
