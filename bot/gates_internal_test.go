package bot

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	goslack "github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/slack"
	"github.com/sopbot/sopbot/sop"
)

// gateSlack records the gate messages a worker posts and updates.
type gateSlack struct {
	Slack
	posted, updated [][]goslack.Block
}

func (s *gateSlack) PostBlocks(_ context.Context, _, _ string, blocks []goslack.Block) (string, error) {
	s.posted = append(s.posted, blocks)
	return "1.1", nil
}

func (s *gateSlack) UpdateMessage(_ context.Context, _, _, _ string, blocks []goslack.Block) error {
	s.updated = append(s.updated, blocks)
	return nil
}

// gateText returns the summary text and the Approve button's value of a
// gate message.
func gateText(t *testing.T, blocks []goslack.Block) (string, string) {
	t.Helper()
	data, err := json.Marshal(blocks)
	require.NoError(t, err)
	var decoded []struct {
		Text     struct{ Text string } `json:"text"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	require.NoError(t, json.Unmarshal(data, &decoded))
	value := ""
	for _, block := range decoded {
		for _, element := range block.Elements {
			if element.ActionID == slack.ApproveActionID {
				value = element.Value
			}
		}
	}
	return decoded[0].Text.Text, value
}

func TestGateMessageRedrawShowsNewParameters(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lib, err := sop.Embedded()
	require.NoError(t, err)
	s, ok := lib.Get("SOP-01")
	require.True(t, ok)
	engine := &Engine{DB: db, Library: lib, Directory: NewDirectory(config.Config{}, nil),
		Settings: Settings{Channel: "C0MLOPS"}, Log: slog.New(slog.DiscardHandler)}
	fake := &gateSlack{}
	w := &Workers{Engine: engine, Slack: fake, Log: engine.Log}

	req := store.Request{SOPID: s.ID, SOPRevision: s.Revision, SOPSource: string(s.File), Target: "project:churn", State: StateAwaitingApproval,
		Params: map[string]string{"project": "churn", "team": "risk", "cost-center": "cc-42"}, RequesterLogin: "alice"}
	require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
		id, err := db.InsertRequest(ctx, tx, req)
		req.ID = id
		if err != nil {
			return err
		}
		req.Revision = requestRevision(req, s, nil)
		return db.SetRevision(ctx, tx, id, req.Revision)
	}))
	job := &river.Job[GateMessageArgs]{JobRow: &rivertype.JobRow{Kind: GateMessageArgs{}.Kind()}, Args: GateMessageArgs{RequestID: req.ID}}

	require.NoError(t, w.gateMessage(ctx, job))
	require.Len(t, fake.posted, 1, "the gate message is posted")
	summary, value := gateText(t, fake.posted[0])
	assert.Contains(t, summary, "Parameters: project: churn, team: risk, cost-center: cc-42")
	assert.Contains(t, summary, "Revision: "+req.Revision[:12])
	assert.Equal(t, "R-1@"+req.Revision, value)

	req.Params["cost-center"] = "cc-77"
	next := requestRevision(req, s, nil)
	require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.SetParams(ctx, tx, req.ID, req.Params); err != nil {
			return err
		}
		return db.SetRevision(ctx, tx, req.ID, next)
	}))
	require.NoError(t, w.gateMessage(ctx, job))
	require.Len(t, fake.updated, 1, "the gate message is redrawn")
	summary, value = gateText(t, fake.updated[0])
	assert.Contains(t, summary, "cost-center: cc-77")
	assert.NotContains(t, summary, "cc-42")
	assert.Equal(t, "R-1@"+next, value, "the button carries the new revision")
}

func TestParseGateValue(t *testing.T) {
	revision := strings.Repeat("ab", 32)
	cases := []struct {
		value, revision, err string
		ref                  RequestRef
	}{
		{value: "#12@" + revision, ref: RequestRef{Issue: 12}, revision: revision},
		{value: "R-3@" + revision[:7], ref: RequestRef{ID: 3}, revision: revision[:7]},
		{value: "#12", ref: RequestRef{Issue: 12}},
		{value: "#12@" + revision[:6], err: "is not 7 to 64 lower-case hex digits"},
		{value: "#12@" + strings.ToUpper(revision), err: "is not 7 to 64 lower-case hex digits"},
		{value: "twelve@" + revision, err: "is not a request"},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			ref, revision, err := ParseGateValue(tc.value)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.ref, ref)
			assert.Equal(t, tc.revision, revision)
		})
	}
}
