package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// unknownKeys lists every key of a YAML document that matches no field of
// Config exactly. encoding/json matches field names case-insensitively, so
// a strict decode alone would take "appId" for "appID".
func unknownKeys(data []byte) ([]string, error) {
	raw, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	var problems []string
	walkKeys(doc, reflect.TypeOf(Config{}), "", &problems)
	sort.Strings(problems)
	return problems, nil
}

func walkKeys(value any, t reflect.Type, path string, problems *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		object, ok := value.(map[string]any)
		if !ok {
			return
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = t.Field(i).Type
			}
		}
		for key, child := range object {
			fieldType, ok := fields[key]
			if !ok {
				problem := fmt.Sprintf("unknown setting %q", join(path, key))
				if near := nearestField(key, fields); near != "" {
					problem += fmt.Sprintf(" (did you mean %q?)", join(path, near))
				}
				*problems = append(*problems, problem)
				continue
			}
			walkKeys(child, fieldType, join(path, key), problems)
		}
	case reflect.Map:
		if object, ok := value.(map[string]any); ok {
			for key, child := range object {
				walkKeys(child, t.Elem(), join(path, key), problems)
			}
		}
	case reflect.Slice:
		if list, ok := value.([]any); ok {
			for i, child := range list {
				walkKeys(child, t.Elem(), fmt.Sprintf("%s[%d]", path, i), problems)
			}
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// nearestField returns the field name closest to key: the same name in
// another case, or one at most two edits away; empty when none is close.
func nearestField(key string, fields map[string]reflect.Type) string {
	best, bestDistance := "", 3
	for name := range fields {
		if strings.EqualFold(name, key) {
			return name
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(key)); d < bestDistance || (d == bestDistance && name < best) {
			best, bestDistance = name, d
		}
	}
	if bestDistance > 2 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// typeError matches encoding/json's message for a value of the wrong type,
// as sigs.k8s.io/yaml passes it on.
var typeError = regexp.MustCompile(`cannot unmarshal (\w+) into Go struct field [^ ]*?\.([A-Za-z0-9_.\[\]]+) of type ([\w.\[\]*]+)`)

// describeDecodeError rewrites a decoding error as a setting path and the
// kind of value it takes, such as `github.appID: a string is given, but it
// takes a number (int64)`.
func describeDecodeError(err error) string {
	m := typeError.FindStringSubmatch(err.Error())
	if m == nil {
		return strings.TrimPrefix(err.Error(), "error unmarshaling JSON: while decoding JSON: ")
	}
	want := m[3]
	switch {
	case strings.HasPrefix(want, "int"), strings.HasPrefix(want, "uint"), strings.HasPrefix(want, "float"):
		want = "a number (" + want + ")"
	case want == "bool":
		want = "true or false"
	case want == "string", want == "config.Secret":
		want = "a string"
	case strings.HasPrefix(want, "[]"):
		want = "a list"
	case strings.HasPrefix(want, "map"):
		want = "a mapping of keys to values"
	default:
		want = "a mapping (" + want + ")"
	}
	return fmt.Sprintf("%s: a %s is given, but it takes %s", m[2], m[1], want)
}
