package scan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedactSecrets(t *testing.T) {
	log := strings.Join([]string{
		"Registering feature view churn_features",
		"connecting to postgresql://feast:hunter2-Sup3r@db.internal:5432/registry",
		"AWS key AKIAIOSFODNN7EXAMPLE in use",
		"api_key = 'q8Zr2LmN4pX7vT1sW9yB3cK6hJ0dF5gA'",
		"done",
	}, "\n")
	out, n := RedactSecrets(log)
	assert.Equal(t, 3, n)
	assert.NotContains(t, out, "hunter2-Sup3r")
	assert.NotContains(t, out, "AKIAIOSFODNN7EXAMPLE")
	assert.NotContains(t, out, "q8Zr2LmN4pX7vT1sW9yB3cK6hJ0dF5gA")
	assert.Contains(t, out, "postgresql://[redacted]@db.internal:5432/registry")
	assert.Contains(t, out, "Registering feature view churn_features\n")
	assert.True(t, strings.HasSuffix(out, "\ndone"))

	clean, n := RedactSecrets("feast apply: 3 feature views registered")
	assert.Equal(t, 0, n)
	assert.Equal(t, "feast apply: 3 feature views registered", clean)
}
