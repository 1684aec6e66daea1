package slack_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/slack"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/slack/golden")

// promotionGate is the SOP-02 approval gate that the golden files show:
// one of two sign-offs given.
func promotionGate() slack.Gate {
	return slack.Gate{
		Request:   "#12",
		Title:     "[SOP-02] Promote fraud-detector v3 to Production",
		URL:       "https://github.example/acme/ml-requests/issues/12",
		Section:   "Step 4: Approval Decision",
		Approvers: []string{"ML lead (@dana)", "compliance officer (@erin)"},
		Signed:    []string{"@dana as ML lead"},
		Value:     "#12",
	}
}

// assertGolden compares the indented JSON of v with a file under
// testdata/slack/golden, and rewrites the file first under -update.
func assertGolden(t *testing.T, name string, v any) {
	t.Helper()
	// Without HTML escaping, the < and > of mrkdwn links stay readable.
	var encoded bytes.Buffer
	encoder := json.NewEncoder(&encoded)
	encoder.SetEscapeHTML(false)
	encoder.SetIndent("", "  ")
	require.NoError(t, encoder.Encode(v))
	got := encoded.Bytes()

	golden := filepath.Join("..", "..", "testdata", "slack", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./integrations/slack -run %s -update to create it", t.Name())
	assert.Equal(t, string(want), string(got))
}

func TestGateBlocksGolden(t *testing.T) {
	assertGolden(t, "gate.json", slack.GateBlocks(promotionGate()))
}

func TestResolvedBlocksGolden(t *testing.T) {
	blocks := slack.ResolvedBlocks(promotionGate(), "Approved by @dana at 2026-12-03 22:47 UTC")

	assertGolden(t, "resolved.json", blocks)
}

func TestRejectModalGolden(t *testing.T) {
	assertGolden(t, "reject_modal.json", slack.RejectModal("#12", "[SOP-02] Promote fraud-detector v3 to Production"))
}

// blockJSON decodes blocks into generic JSON, as Slack receives them.
func blockJSON(t *testing.T, blocks []slackgo.Block) []map[string]any {
	t.Helper()
	encoded, err := json.Marshal(blocks)
	require.NoError(t, err)
	var decoded []map[string]any
	require.NoError(t, json.Unmarshal(encoded, &decoded))
	return decoded
}

func TestGateBlocksButtons(t *testing.T) {
	blocks := blockJSON(t, slack.GateBlocks(promotionGate()))

	require.Len(t, blocks, 3)
	actions := blocks[2]
	assert.Equal(t, "actions", actions["type"])
	assert.Equal(t, slack.GateBlockID, actions["block_id"])
	elements, ok := actions["elements"].([]any)
	require.True(t, ok, "elements: got %T, want an array", actions["elements"])
	require.Len(t, elements, 2)
	approve, reject := elements[0].(map[string]any), elements[1].(map[string]any)
	assert.Equal(t, slack.ApproveActionID, approve["action_id"])
	assert.Equal(t, "primary", approve["style"])
	assert.Equal(t, "#12", approve["value"])
	assert.Equal(t, slack.RejectActionID, reject["action_id"])
	assert.Equal(t, "danger", reject["style"])
	assert.Equal(t, "#12", reject["value"])
}

func TestResolvedBlocksHaveNoButtons(t *testing.T) {
	blocks := blockJSON(t, slack.ResolvedBlocks(promotionGate(), "Rejected by @erin"))

	for _, block := range blocks {
		assert.NotEqual(t, "actions", block["type"])
	}
	assert.Contains(t, blocks[len(blocks)-1]["text"].(map[string]any)["text"], "Rejected by @erin")
}

func TestGateBlocksEscapeMrkdwn(t *testing.T) {
	gate := promotionGate()
	gate.Title = "<!channel> & <https://evil.example|click>"
	gate.URL = "https://github.example/a|b>c"
	gate.Signed = nil

	blocks := blockJSON(t, slack.GateBlocks(gate))

	summary := blocks[0]["text"].(map[string]any)["text"].(string)
	assert.Contains(t, summary, "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;")
	assert.Contains(t, summary, "<https://github.example/a%7Cb%3Ec|")
	assert.NotContains(t, summary, "<!channel>")
	signed := blocks[1]["elements"].([]any)[0].(map[string]any)["text"]
	assert.Equal(t, "No sign-offs yet.", signed)
}

func TestGateBlocksShowParametersAndRevision(t *testing.T) {
	gate := promotionGate()
	gate.Parameters = []string{"model: fraud-detector", "note: <!here> & more"}
	gate.Revision = "1a2b3c4d5e6f"

	blocks := blockJSON(t, slack.GateBlocks(gate))

	summary := blocks[0]["text"].(map[string]any)["text"].(string)
	assert.Contains(t, summary, "\nParameters: model: fraud-detector, note: &lt;!here&gt; &amp; more")
	assert.Contains(t, summary, "\nRevision: 1a2b3c4d5e6f")
}

func TestGateBlocksClipLongText(t *testing.T) {
	gate := promotionGate()
	gate.Approvers = []string{strings.Repeat("x", 4000)}

	blocks := blockJSON(t, slack.GateBlocks(gate))

	summary := blocks[0]["text"].(map[string]any)["text"].(string)
	assert.Equal(t, 3000, utf8.RuneCountInString(summary))
	assert.True(t, strings.HasSuffix(summary, "…"))
}

func TestRejectModalFields(t *testing.T) {
	modal := slack.RejectModal("R-123456789012345678", "A title")

	assert.Equal(t, slack.RejectCallbackID, modal.CallbackID)
	assert.Equal(t, "R-123456789012345678", modal.PrivateMetadata)
	assert.Equal(t, "Reject", modal.Submit.Text)
	assert.Equal(t, "Cancel", modal.Close.Text)
	assert.LessOrEqual(t, utf8.RuneCountInString(modal.Title.Text), 24, "modal title %q", modal.Title.Text)
	require.Len(t, modal.Blocks.BlockSet, 2)
	input, ok := modal.Blocks.BlockSet[1].(*slackgo.InputBlock)
	require.True(t, ok, "second block: got %T, want *slack.InputBlock", modal.Blocks.BlockSet[1])
	assert.Equal(t, slack.ReasonBlockID, input.BlockID)
	element, ok := input.Element.(*slackgo.PlainTextInputBlockElement)
	require.True(t, ok, "input element: got %T, want *slack.PlainTextInputBlockElement", input.Element)
	assert.Equal(t, slack.ReasonActionID, element.ActionID)
	assert.True(t, element.Multiline)
	assert.Equal(t, 3, element.MinLength)
	assert.Equal(t, 1000, element.MaxLength)
}
