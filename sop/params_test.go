package sop

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func renderedSOP02(t *testing.T) string {
	t.Helper()
	lib, err := Embedded()
	require.NoError(t, err)
	s, ok := lib.Get("SOP-02")
	require.True(t, ok)
	_, body := Render(s, RenderInput{RequestID: "R-1", Params: map[string]string{"model": "fraud-detector", "version": "3", "to": "Production"}})
	return body
}

func TestReadParamsFromRenderedBody(t *testing.T) {
	params := ReadParams(renderedSOP02(t))
	assert.Equal(t, map[string]string{"model": "fraud-detector", "version": "3", "to": "Production"}, params)
}

func TestSetParamRoundTrip(t *testing.T) {
	body := renderedSOP02(t)
	changed, ok := SetParam(body, "version", "4")
	require.True(t, ok, "the version row is rewritten")
	assert.Equal(t, "4", ReadParams(changed)["version"])
	assert.Equal(t, "fraud-detector", ReadParams(changed)["model"], "other rows stay")
	assert.Equal(t, ReadChecklist(body), ReadChecklist(changed), "checkboxes stay")

	_, ok = SetParam(changed, "version", "4")
	assert.False(t, ok, "setting the same value changes nothing")
	_, ok = SetParam(body, "colour", "blue")
	assert.False(t, ok, "an unknown parameter changes nothing")
}

func TestReadParamsWithoutTable(t *testing.T) {
	assert.Nil(t, ReadParams("no parameters here\n\n### Parameters\n\njust text\n"))
	assert.Equal(t, map[string]string{"model": "a|b"}, ReadParams("### Parameters\n\n| Parameter | Value |\n| --- | --- |\n| model | `a\\|b` |\n"))
}
