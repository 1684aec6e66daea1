package sop

import (
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// unknownField matches the key that encoding/json's DisallowUnknownFields
// names, which is how sigs.k8s.io/yaml's UnmarshalStrict reports a key
// that Binding lacks. The message carries no line number.
var unknownField = regexp.MustCompile(`unknown field "([^"]*)"`)

// bindingKeys lists the front matter keys at the top level of a binding.
var bindingKeys = jsonKeys(reflect.TypeFor[Binding](), false)

// allBindingKeys lists every front matter key at any depth, such as
// "tick" under sections and "kind" under params.
var allBindingKeys = jsonKeys(reflect.TypeFor[Binding](), true)

// jsonKeys returns the JSON names of t's fields, sorted, and with nested
// set those of the struct types its fields contain too.
func jsonKeys(t reflect.Type, nested bool) []string {
	seen := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for field := range t.Fields() {
			name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			seen[name] = true
			if nested {
				walk(field.Type)
			}
		}
	}
	walk(t)
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// unknownKeyHint returns how to fix an unknown front matter key: rename
// it to the known key within two edits of it, or else remove it.
func unknownKeyHint(key string) string {
	best, bestDistance := "", 3
	for _, known := range allBindingKeys {
		if d := editDistance(strings.ToLower(key), strings.ToLower(known)); d < bestDistance {
			best, bestDistance = known, d
		}
	}
	if best != "" {
		return "did you mean " + strconv.Quote(best) + "? Fix the spelling or remove the key"
	}
	return "remove it; the binding's top-level keys are " + strings.Join(bindingKeys, ", ")
}

// editDistance returns the Levenshtein distance between a and b in bytes.
func editDistance(a, b string) int {
	previous := make([]int, len(b)+1)
	current := make([]int, len(b)+1)
	for j := range previous {
		previous[j] = j
	}
	for i := 1; i <= len(a); i++ {
		current[0] = i
		for j := 1; j <= len(b); j++ {
			substitution := previous[j-1]
			if a[i-1] != b[j-1] {
				substitution++
			}
			current[j] = min(previous[j]+1, current[j-1]+1, substitution)
		}
		previous, current = current, previous
	}
	return previous[len(b)]
}
