package config

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRotationKindsExtendDefaults(t *testing.T) {
	cfg, err := Load(writeConfig(t, validYAML+`
rotation:
  kinds:
    vendor-key: {maxAgeDays: 30, generate: true, alphabet: hex}
  secrets:
    - {name: mlflow-secrets, namespace: mlops, kind: database-password}
    - {name: vendor, namespace: mlops, kind: vendor-key}
    - {name: s3, namespace: mlops, kind: cloud-credential}
`), noEnv)
	require.NoError(t, err)
	kinds := cfg.Rotation.Kinds
	assert.Equal(t, SecretKind{MaxAgeDays: 30, Generate: true, Length: 32, Alphabet: "hex"}, kinds["vendor-key"], "the configured kind")
	assert.Equal(t, SecretKind{MaxAgeDays: 180, Generate: true, Length: 32, Alphabet: "alnum"}, kinds["database-password"], "built-in kept")
	assert.Equal(t, SecretKind{MaxAgeDays: 90, Length: 32, Alphabet: "alnum"}, kinds["cloud-credential"], "built-in kept")
	assert.Equal(t, SecretKind{Length: 32, Alphabet: "alnum"}, kinds["api-token"], "built-in kept")
	assert.Len(t, kinds, 4)
}

func TestRotationKindOverridesDefault(t *testing.T) {
	cfg, err := Load(writeConfig(t, validYAML+`
rotation:
  kinds:
    database-password: {maxAgeDays: 60}
  secrets:
    - {name: mlflow-secrets, namespace: mlops, kind: database-password}
`), noEnv)
	require.NoError(t, err)
	kinds := cfg.Rotation.Kinds
	assert.Equal(t, SecretKind{MaxAgeDays: 60, Length: 32, Alphabet: "alnum"}, kinds["database-password"],
		"the configured policy replaces the built-in one as a whole, generate included")
	assert.Equal(t, 90, kinds["cloud-credential"].MaxAgeDays, "other built-ins stay")
	assert.Len(t, kinds, 3)
}

func TestRotationKindsWithoutConfig(t *testing.T) {
	kinds := Config{}.WithDefaults().Rotation.Kinds
	assert.Equal(t, []string{"api-token", "cloud-credential", "database-password"}, sortedKeys(kinds))
}

func TestRotationKindsLeaveCallerMap(t *testing.T) {
	configured := map[string]SecretKind{"vendor-key": {MaxAgeDays: 30}}
	cfg := Config{Rotation: Rotation{Kinds: configured}}
	merged := cfg.WithDefaults().Rotation.Kinds
	assert.Len(t, merged, 4)
	assert.Equal(t, map[string]SecretKind{"vendor-key": {MaxAgeDays: 30}}, configured, "the caller's map is unchanged")
	assert.Equal(t, merged, cfg.WithDefaults().WithDefaults().Rotation.Kinds, "defaults apply once")
}

func TestRotationSecretKindUnknown(t *testing.T) {
	_, err := Load(writeConfig(t, validYAML+`
rotation:
  kinds:
    vendor-key: {maxAgeDays: 30}
  secrets:
    - {name: vendor, namespace: mlops, kind: vendr-key}
    - {name: other, namespace: mlops}
`), noEnv)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `rotation.secrets[0]: kind "vendr-key" is neither a built-in kind nor in rotation.kinds: `+
		`use one of api-token, cloud-credential, database-password, vendor-key, or add "vendr-key" under rotation.kinds`)
	assert.Contains(t, err.Error(), "rotation.secrets[1]: kind is missing: use one of api-token, cloud-credential, database-password, vendor-key",
		"every problem in the one message")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
