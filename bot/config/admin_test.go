package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdminIsOffByDefault(t *testing.T) {
	cfg, err := Load(writeConfig(t, validYAML), noEnv)
	require.NoError(t, err)
	assert.Empty(t, cfg.Admin.Listen)
	assert.False(t, cfg.Admin.PProf)
}

func TestAdminFromFileAndEnvironment(t *testing.T) {
	cfg, err := Load(writeConfig(t, validYAML+"admin: {listen: \"127.0.0.1:6060\", pprof: true}\n"), noEnv)
	require.NoError(t, err)
	assert.Equal(t, Admin{Listen: "127.0.0.1:6060", PProf: true}, cfg.Admin)

	env := map[string]string{"SOPBOT_ADMIN_LISTEN": "127.0.0.1:7070", "SOPBOT_ADMIN_PPROF": "false"}
	cfg, err = Load(writeConfig(t, validYAML+"admin: {listen: \"127.0.0.1:6060\", pprof: true}\n"), func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, Admin{Listen: "127.0.0.1:7070", PProf: false}, cfg.Admin, "the environment wins over the file")
}

func TestAdminTwoRandomPortsAreValid(t *testing.T) {
	text := validYAML + "listen: 127.0.0.1:0\nadmin: {listen: \"127.0.0.1:0\"}\n"
	_, err := Load(writeConfig(t, text), noEnv)
	assert.NoError(t, err)
}

func TestAdminRejects(t *testing.T) {
	cases := []struct {
		name string
		text string
		env  map[string]string
		want string
	}{
		{"pprof without listener", "admin: {pprof: true}\n", nil, "admin.pprof needs admin.listen"},
		{"address without port", "admin: {listen: localhost}\n", nil, `admin.listen "localhost" is invalid: use host:port`},
		{"public address", "admin: {listen: \":8080\"}\n", nil, `admin.listen ":8080" is also the public listen address`},
		{"pprof not a boolean", "", map[string]string{"SOPBOT_ADMIN_PPROF": "yes please"}, `SOPBOT_ADMIN_PPROF="yes please" is not a boolean`},
		{"misspelled key", "admin: {listen: \"127.0.0.1:6060\", pProf: true}\n", nil, `unknown setting "admin.pProf"`},
		{
			"leader election", "admin: {listen: \"127.0.0.1:6060\"}\nleader: {enabled: true, namespace: ml, identity: pod-0}\n", nil,
			"admin.listen is not supported with leader.enabled",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, validYAML+tc.text), func(k string) string { return tc.env[k] })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
