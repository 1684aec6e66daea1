package handlers_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHealthz(t *testing.T) {
	h := newHarness(t, nil)
	req, err := http.NewRequest(http.MethodGet, h.url+"/healthz", nil)
	require.NoError(t, err)

	got := h.do(t, req)

	assert.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
	assert.Equal(t, map[string]string{"status": "ok"}, got.json(t))
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name       string
		prepare    func(t *testing.T, h *harness)
		wantStatus int
		wantBody   map[string]string
	}{
		{
			name:       "migrated database",
			prepare:    func(*testing.T, *harness) {},
			wantStatus: http.StatusOK,
			wantBody:   map[string]string{"status": "ready"},
		},
		{
			name: "pending migration",
			prepare: func(t *testing.T, h *harness) {
				// goose records each applied migration in goose_db_version, so
				// removing the row of the latest one makes it pending.
				_, err := h.db.SQL.Exec(`DELETE FROM goose_db_version
					WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)`)
				require.NoError(t, err)
			},
			wantStatus: http.StatusServiceUnavailable,
			wantBody:   map[string]string{"error": "database migrations not applied"},
		},
		{
			name:       "closed database",
			prepare:    func(t *testing.T, h *harness) { require.NoError(t, h.db.Close()) },
			wantStatus: http.StatusServiceUnavailable,
			wantBody:   map[string]string{"error": "database unreachable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			tt.prepare(t, h)
			req, err := http.NewRequest(http.MethodGet, h.url+"/readyz", nil)
			require.NoError(t, err)

			got := h.do(t, req)

			assert.Equal(t, tt.wantStatus, got.status, "status: got %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			assert.Equal(t, tt.wantBody, got.json(t))
		})
	}
}
