package kfpfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sopbot/sopbot/integrations/kfp"
)

// runFilter is a parsed Filter message of GET runs: every predicate must
// hold for a run to be listed.
type runFilter []runPredicate

// runPredicate is one predicate with a string value, or a list of them for
// IN.
type runPredicate struct {
	key       string
	operation string
	values    []string
}

// filterOperations are the Predicate.Operation names the fake evaluates.
var filterOperations = []string{"EQUALS", "NOT_EQUALS", "IN", "IS_SUBSTRING"}

// unsupportedValueFields are Predicate value fields that exist in KFP's
// filter.proto but that the fake does not evaluate.
var unsupportedValueFields = []string{
	"int_value", "intValue", "long_value", "longValue", "timestamp_value", "timestampValue",
	"int_values", "intValues", "long_values", "longValues",
}

// filterKeys maps each filter key the fake understands to the run field it
// reads. The fake also accepts "name" for display_name and "id" for
// run_id.
var filterKeys = map[string]func(kfp.Run) string{
	"display_name":  func(run kfp.Run) string { return run.DisplayName },
	"name":          func(run kfp.Run) string { return run.DisplayName },
	"run_id":        func(run kfp.Run) string { return run.ID },
	"id":            func(run kfp.Run) string { return run.ID },
	"experiment_id": func(run kfp.Run) string { return run.ExperimentID },
	"state":         func(run kfp.Run) string { return run.State },
	"storage_state": func(run kfp.Run) string { return run.StorageState },
}

// parseFilter decodes the filter query parameter, a JSON-serialised Filter
// such as {"predicates":[{"key":"display_name","operation":"EQUALS",
// "string_value":"nightly"}]}. Field names may be snake_case or
// lowerCamelCase, as the JSON mapping of protobuf accepts both, and an
// operation must be given by name.
func parseFilter(raw string) (runFilter, error) {
	if raw == "" {
		return nil, nil
	}

	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &top); err != nil || top == nil {
		return nil, fmt.Errorf("invalid filter %q: want a JSON-serialised Filter object", raw)
	}
	for key := range top {
		if key != "predicates" {
			return nil, fmt.Errorf("invalid filter: unknown field %q", key)
		}
	}

	var predicates []map[string]json.RawMessage
	if encoded, ok := top["predicates"]; ok {
		if err := json.Unmarshal(encoded, &predicates); err != nil {
			return nil, fmt.Errorf("invalid filter: predicates must be a list of objects")
		}
	}

	parsed := make(runFilter, 0, len(predicates))
	for i, fields := range predicates {
		predicate, err := parsePredicate(fields)
		if err != nil {
			return nil, fmt.Errorf("invalid filter predicate %d: %w", i, err)
		}
		parsed = append(parsed, predicate)
	}
	return parsed, nil
}

func parsePredicate(fields map[string]json.RawMessage) (runPredicate, error) {
	var predicate runPredicate
	var stringValue *string
	var stringValues *struct {
		Values []string `json:"values"`
	}

	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := fields[name]
		var err error
		switch {
		case name == "key":
			err = json.Unmarshal(raw, &predicate.key)
		case name == "operation":
			err = json.Unmarshal(raw, &predicate.operation)
		case name == "string_value" || name == "stringValue":
			err = json.Unmarshal(raw, &stringValue)
		case name == "string_values" || name == "stringValues":
			err = json.Unmarshal(raw, &stringValues)
		case slices.Contains(unsupportedValueFields, name):
			return runPredicate{}, fmt.Errorf("value field %q is not supported by the fake, use string_value or string_values", name)
		default:
			return runPredicate{}, fmt.Errorf("unknown field %q", name)
		}
		if err != nil {
			return runPredicate{}, fmt.Errorf("invalid value %s for %q", raw, name)
		}
	}

	if filterKeys[predicate.key] == nil {
		return runPredicate{}, fmt.Errorf("key %q is not supported by the fake, want one of %s", predicate.key, supportedKeys())
	}
	if !slices.Contains(filterOperations, predicate.operation) {
		return runPredicate{}, fmt.Errorf("operation %q is not supported by the fake, want one of %s",
			predicate.operation, strings.Join(filterOperations, ", "))
	}

	switch {
	case predicate.operation == "IN" && stringValues != nil && stringValue == nil:
		predicate.values = stringValues.Values
	case predicate.operation != "IN" && stringValue != nil && stringValues == nil:
		predicate.values = []string{*stringValue}
	case predicate.operation == "IN":
		return runPredicate{}, fmt.Errorf("operation IN needs string_values and no other value")
	default:
		return runPredicate{}, fmt.Errorf("operation %s needs string_value and no other value", predicate.operation)
	}
	return predicate, nil
}

func supportedKeys() string {
	keys := make([]string, 0, len(filterKeys))
	for key := range filterKeys {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// matches reports whether run satisfies every predicate.
func (rf runFilter) matches(run kfp.Run) bool {
	for _, predicate := range rf {
		if !predicate.matches(run) {
			return false
		}
	}
	return true
}

func (p runPredicate) matches(run kfp.Run) bool {
	value := filterKeys[p.key](run)
	switch p.operation {
	case "EQUALS":
		return value == p.values[0]
	case "NOT_EQUALS":
		return value != p.values[0]
	case "IS_SUBSTRING":
		return strings.Contains(value, p.values[0])
	case "IN":
		return slices.Contains(p.values, value)
	}
	return false
}

// String returns the filter for a Calls line, such as
// `display_name EQUALS "nightly"`.
func (rf runFilter) String() string {
	parts := make([]string, 0, len(rf))
	for _, predicate := range rf {
		quoted := make([]string, 0, len(predicate.values))
		for _, value := range predicate.values {
			quoted = append(quoted, strconv.Quote(value))
		}
		parts = append(parts, predicate.key+" "+predicate.operation+" "+strings.Join(quoted, ","))
	}
	return strings.Join(parts, " AND ")
}
