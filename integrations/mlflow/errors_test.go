package mlflow

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not found", &APIError{StatusCode: 404, Code: "RESOURCE_DOES_NOT_EXIST"}, true},
		{"permission denied wrapped", fmt.Errorf("x: %w", &APIError{StatusCode: 403, Code: "PERMISSION_DENIED"}), true},
		{"already exists", &APIError{StatusCode: 400, Code: "RESOURCE_ALREADY_EXISTS"}, true},
		{"unauthenticated", &APIError{StatusCode: 401}, true},
		{"rate limited", &APIError{StatusCode: 429, Code: "REQUEST_LIMIT_EXCEEDED"}, false},
		{"request timeout", &APIError{StatusCode: 408}, false},
		{"internal", &APIError{StatusCode: 500, Code: "INTERNAL_ERROR"}, false},
		{"bad gateway", &APIError{StatusCode: 502}, false},
		{"invalid argument", fmt.Errorf("x: %w", invalidArgument("stage")), true},
		{"network", errors.New("connection refused"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, IsPermanent(tt.err))
		})
	}
}

func TestErrNotFoundMatchesCodeOnly(t *testing.T) {
	assert.ErrorIs(t, &APIError{StatusCode: 404, Code: "RESOURCE_DOES_NOT_EXIST"}, ErrNotFound)
	assert.NotErrorIs(t, &APIError{StatusCode: 404, Code: "ENDPOINT_NOT_FOUND"}, ErrNotFound)
	assert.NotErrorIs(t, &APIError{StatusCode: 404}, ErrNotFound)
}

func TestAPIErrorMessage(t *testing.T) {
	err := &APIError{StatusCode: 403, Code: "PERMISSION_DENIED", Message: "no access"}

	assert.Equal(t, "mlflow: HTTP 403 PERMISSION_DENIED: no access", err.Error())
}

func TestStages(t *testing.T) {
	tests := []struct {
		input         string
		wantValid     bool
		wantCanonical string
		wantKnown     bool
	}{
		{"Production", true, "Production", true},
		{"production", false, "Production", true},
		{"PRODUCTION", false, "Production", true},
		{"Staging", true, "Staging", true},
		{"None", true, "None", true},
		{"none", false, "None", true},
		{"Archived", true, "Archived", true},
		{"archived", false, "Archived", true},
		{"", false, "", false},
		{"Prod", false, "", false},
		{"Deleted_Internal", false, "", false},
		{"ſtaging", false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			canonical, known := CanonicalStage(tt.input)

			assert.Equal(t, tt.wantValid, ValidStage(tt.input))
			assert.Equal(t, tt.wantCanonical, canonical)
			assert.Equal(t, tt.wantKnown, known)
		})
	}
}

func TestNameFilter(t *testing.T) {
	tests := []struct {
		name    string
		want    string
		wantErr bool
	}{
		{"fraud-detector", "name='fraud-detector'", false},
		{"o'brien", `name="o'brien"`, false},
		{`say "hi"`, `name='say "hi"'`, false},
		{`it's "x"`, "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			filter, err := nameFilter(tt.name)

			if tt.wantErr {
				require.Error(t, err)
				assert.True(t, IsPermanent(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, filter)
		})
	}
}
