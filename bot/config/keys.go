package config

import (
	"encoding/json"
	"fmt"
	"reflect"
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
				*problems = append(*problems, fmt.Sprintf("unknown setting %q", join(path, key)))
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
