package kfpfake

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// contractFS holds the swagger and the example runs copied from
// kubeflow/pipelines. SOURCES.md in the same folder names their origin and
// licence.
//
//go:embed contract/*.json
var contractFS embed.FS

const (
	swaggerFile = "contract/run.swagger.json"
	failedFile  = "contract/run.failed.json"
)

// outputOnlyPrefix starts the swagger description of every v2beta1Run
// field that only the server sets.
const outputOnlyPrefix = "Output."

// schema is the part of a Swagger 2.0 schema object that the fake checks.
type schema struct {
	Ref        string             `json:"$ref"`
	Type       string             `json:"type"`
	Format     string             `json:"format"`
	Enum       []string           `json:"enum"`
	Properties map[string]*schema `json:"properties"`
	// AdditionalProperties is nil when the swagger omits it, and an empty
	// schema, which accepts any value, for "additionalProperties": {}.
	AdditionalProperties *schema `json:"additionalProperties"`
	Items                *schema `json:"items"`
	Description          string  `json:"description"`
}

// swaggerContract is the paths and definitions sections of
// run.swagger.json.
type swaggerContract struct {
	Paths       map[string]map[string]*operation `json:"paths"`
	Definitions map[string]*schema               `json:"definitions"`
}

// operation is one method of a swagger path.
type operation struct {
	Parameters []parameter `json:"parameters"`
}

// parameter is one parameter of an operation.
type parameter struct {
	Name   string `json:"name"`
	In     string `json:"in"`
	Type   string `json:"type"`
	Format string `json:"format"`
}

// loadContract decodes the embedded swagger once. The file is part of the
// package, so a decoding failure is a bug and panics.
var loadContract = sync.OnceValue(func() *swaggerContract {
	data, err := contractFS.ReadFile(swaggerFile)
	if err != nil {
		panic(fmt.Sprintf("kfpfake: reading %s: %v", swaggerFile, err))
	}
	var contract swaggerContract
	if err := json.Unmarshal(data, &contract); err != nil {
		panic(fmt.Sprintf("kfpfake: decoding %s: %v", swaggerFile, err))
	}
	if contract.Definitions["v2beta1Run"] == nil {
		panic(fmt.Sprintf("kfpfake: %s has no v2beta1Run definition", swaggerFile))
	}
	return &contract
})

// checkQuery rejects a query parameter that the swagger does not list for
// method and pathTemplate, such as "/apis/v2beta1/runs", a repeated one,
// and an integer parameter that is not an int32.
func (c *swaggerContract) checkQuery(method, pathTemplate string, query url.Values) error {
	op := c.Paths[pathTemplate][strings.ToLower(method)]
	if op == nil {
		return fmt.Errorf("swagger has no operation %s %s", method, pathTemplate)
	}

	names := make([]string, 0, len(query))
	for name := range query {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		index := slices.IndexFunc(op.Parameters, func(p parameter) bool { return p.In == "query" && p.Name == name })
		if index < 0 {
			return fmt.Errorf("unknown query parameter %q", name)
		}
		if len(query[name]) > 1 {
			return fmt.Errorf("query parameter %q is repeated", name)
		}
		if op.Parameters[index].Type == "integer" {
			if _, err := strconv.ParseInt(query.Get(name), 10, 32); err != nil {
				return fmt.Errorf("invalid value %q for query parameter %q: want an int32", query.Get(name), name)
			}
		}
	}
	return nil
}

// definition returns the named schema, such as "v2beta1Run".
func (c *swaggerContract) definition(name string) *schema {
	return c.Definitions[name]
}

// resolve follows a "#/definitions/<name>" reference.
func (c *swaggerContract) resolve(s *schema) (*schema, error) {
	if s.Ref == "" {
		return s, nil
	}
	name, ok := strings.CutPrefix(s.Ref, "#/definitions/")
	target := c.Definitions[name]
	if !ok || target == nil {
		return nil, fmt.Errorf("swagger reference %q does not resolve", s.Ref)
	}
	return target, nil
}

// validate checks value, decoded with json.Number for numbers, against s.
// path names value in messages, such as "runtime_config.parameters". A
// JSON null passes, because the JSON mapping of protobuf reads it as an
// unset field.
func (c *swaggerContract) validate(s *schema, path string, value any) error {
	if value == nil {
		return nil
	}
	s, err := c.resolve(s)
	if err != nil {
		return err
	}

	if len(s.Enum) > 0 {
		text, ok := value.(string)
		if !ok || !slices.Contains(s.Enum, text) {
			return fmt.Errorf("invalid value %s for %s: want one of %s", describe(value), path, strings.Join(s.Enum, ", "))
		}
		return nil
	}

	switch s.Type {
	case "":
		return nil
	case "string":
		return checkString(s, path, value)
	case "integer":
		return checkInteger(s, path, value)
	case "number":
		if _, ok := value.(json.Number); !ok {
			return fmt.Errorf("invalid value %s for %s: want a number", describe(value), path)
		}
		return nil
	case "boolean":
		if _, ok := value.(bool); !ok {
			return fmt.Errorf("invalid value %s for %s: want true or false", describe(value), path)
		}
		return nil
	case "array":
		return c.validateArray(s, path, value)
	case "object":
		return c.validateObject(s, path, value)
	}
	return fmt.Errorf("swagger type %q of %s is not supported by the fake", s.Type, path)
}

// checkString accepts a string. The swagger writes int64 fields as strings
// with format int64, and for those it accepts a decimal string or a JSON
// integer, as the JSON mapping of protobuf does.
func checkString(s *schema, path string, value any) error {
	if s.Format == "int64" || s.Format == "uint64" {
		return checkInt64(path, value)
	}

	text, ok := value.(string)
	if !ok {
		return fmt.Errorf("invalid value %s for %s: want a string", describe(value), path)
	}
	if s.Format == "date-time" {
		if _, err := time.Parse(time.RFC3339Nano, text); err != nil {
			return fmt.Errorf("invalid value %q for %s: want an RFC 3339 time", text, path)
		}
	}
	return nil
}

func checkInt64(path string, value any) error {
	var number json.Number
	switch v := value.(type) {
	case json.Number:
		number = v
	case string:
		number = json.Number(v)
	}
	if _, err := number.Int64(); err != nil {
		return fmt.Errorf("invalid value %s for %s: want an int64 as a string or an integer", describe(value), path)
	}
	return nil
}

// checkInteger accepts a JSON integer that fits the field's format.
func checkInteger(s *schema, path string, value any) error {
	number, ok := value.(json.Number)
	if ok {
		bits := 64
		if s.Format == "int32" {
			bits = 32
		}
		if _, err := strconv.ParseInt(number.String(), 10, bits); err == nil {
			return nil
		}
	}
	return fmt.Errorf("invalid value %s for %s: want an integer", describe(value), path)
}

func (c *swaggerContract) validateArray(s *schema, path string, value any) error {
	items, ok := value.([]any)
	if !ok {
		return fmt.Errorf("invalid value %s for %s: want an array", describe(value), path)
	}
	if s.Items == nil {
		return nil
	}
	for i, item := range items {
		if err := c.validate(s.Items, fmt.Sprintf("%s[%d]", path, i), item); err != nil {
			return err
		}
	}
	return nil
}

// validateObject checks each field of an object. A schema without
// properties and without additionalProperties, such as pipeline_spec's,
// accepts any object.
func (c *swaggerContract) validateObject(s *schema, path string, value any) error {
	object, ok := value.(map[string]any)
	if !ok {
		return fmt.Errorf("invalid value %s for %s: want an object", describe(value), path)
	}

	keys := make([]string, 0, len(object))
	for key := range object {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		fieldPath := joinPath(path, key)
		field := s.Properties[key]
		switch {
		case field != nil:
		case s.AdditionalProperties != nil:
			field = s.AdditionalProperties
		case len(s.Properties) == 0:
			continue
		default:
			return fmt.Errorf("unknown field %q", fieldPath)
		}
		if err := c.validate(field, fieldPath, object[key]); err != nil {
			return err
		}
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe returns value as JSON for an error message.
func describe(value any) string {
	encoded, err := json.Marshal(value)
	if err != nil {
		return fmt.Sprintf("%v", value)
	}
	return string(encoded)
}

// decodeJSON decodes data with json.Number for numbers, so that validate
// can tell integers from other numbers, and rejects trailing data.
func decodeJSON(data []byte) (any, error) {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return nil, err
	}
	if decoder.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return value, nil
}

// outputOnlyFields returns the v2beta1Run fields whose swagger description
// marks them as set by the server only.
func (c *swaggerContract) outputOnlyFields() map[string]bool {
	fields := map[string]bool{}
	for name, field := range c.definition("v2beta1Run").Properties {
		if strings.HasPrefix(field.Description, outputOnlyPrefix) {
			fields[name] = true
		}
	}
	return fields
}

// runtimeStates returns the RuntimeState enum of the swagger.
func (c *swaggerContract) runtimeStates() []string {
	return c.definition("v2beta1RuntimeState").Enum
}

// exampleError returns the error status of the example failed run, which
// the fake sends for every run that ends FAILED.
var exampleError = sync.OnceValue(func() json.RawMessage {
	data, err := contractFS.ReadFile(failedFile)
	if err != nil {
		panic(fmt.Sprintf("kfpfake: reading %s: %v", failedFile, err))
	}
	var run struct {
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &run); err != nil || len(run.Error) == 0 || string(run.Error) == "null" {
		panic(fmt.Sprintf("kfpfake: %s has no error object (%v)", failedFile, err))
	}
	return run.Error
})
