package handlers_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/handlers"
	"github.com/sopbot/sopbot/integrations/slack"
)

// Slack's worked example in "Verifying requests from Slack": the body is
// testdata/slack/slash_command.signing-example.body.txt.
const (
	vectorSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	vectorTimestamp = int64(1531420618)
	vectorSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	// vectorCommand is the slash command named in the example body.
	vectorCommand = "/webhook-collect"
)

const testTriggerID = "13345224609.738474920.8088930838d88f008e0"

func setSlackSignature(h http.Header, secret string, ts int64, body []byte) {
	h.Set(slack.TimestampHeader, strconv.FormatInt(ts, 10))
	h.Set(slack.SignatureHeader, slack.Sign([]byte(secret), ts, body))
}

// slackReply is the JSON a slash command gets back.
type slackReply struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func decodeSlackReply(t *testing.T, r response) slackReply {
	t.Helper()
	var reply slackReply
	require.NoError(t, json.Unmarshal(r.body, &reply), "decoding reply body %q", r.body)
	return reply
}

// slackForm returns the body of a /mlops slash command typed by U0ALICE,
// after edit (when not nil) has changed its fields.
func slackForm(text string, edit func(url.Values)) []byte {
	form := url.Values{
		"token":        {"gIkuvaNzQIHg97ATvDxqgjtO"},
		"team_id":      {"T0001"},
		"team_domain":  {"acme"},
		"channel_id":   {"C0MLOPS"},
		"channel_name": {"mlops"},
		"user_id":      {"U0ALICE"},
		"user_name":    {"alice"},
		"command":      {"/mlops"},
		"text":         {text},
		"response_url": {"https://hooks.slack.com/commands/T0001/1234/abcd"},
		"trigger_id":   {testTriggerID},
	}
	if edit != nil {
		edit(form)
	}
	return []byte(form.Encode())
}

func TestSlackSignatureVector(t *testing.T) {
	body := readFixture(t, "slack", "slash_command.signing-example.body.txt")
	require.Len(t, body, 362, "size of the example body")

	assert.Equal(t, vectorSignature, slack.Sign([]byte(vectorSecret), vectorTimestamp, body))
}

func TestSlackSignatureVectorThroughHandler(t *testing.T) {
	body := readFixture(t, "slack", "slash_command.signing-example.body.txt")
	flipped := append([]byte{}, body...)
	flipped[len(flipped)-1] ^= 0x01
	tests := []struct {
		name         string
		slashCommand string
		body         []byte
		wantStatus   int
		// wantHelp expects the help text. Otherwise wantError is a
		// substring of the JSON error.
		wantHelp  bool
		wantError string
	}{
		{"served command", vectorCommand, body, http.StatusOK, true, ""},
		{"other command", "/mlops", body, http.StatusBadRequest, false, "unknown command /webhook-collect: this endpoint serves /mlops"},
		{"flipped byte", vectorCommand, flipped, http.StatusUnauthorized, false, "request signature does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(s *handlers.Server) {
				s.SlackSecret = []byte(vectorSecret)
				s.SlashCommand = tt.slashCommand
				s.Now = func() time.Time { return time.Unix(vectorTimestamp, 0) }
			})
			req := h.slackRequest(t, vectorSecret, vectorTimestamp, tt.body)
			req.Header.Set(slack.SignatureHeader, vectorSignature)

			got := h.do(t, req)

			require.Equal(t, tt.wantStatus, got.status, "status: got %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			if tt.wantHelp {
				assert.Equal(t, slackReply{ResponseType: "ephemeral", Text: h.server.Grammar.Help()}, decodeSlackReply(t, got))
			} else {
				assert.Contains(t, got.json(t)["error"], tt.wantError)
			}
			h.requireNothingStored(t)
		})
	}
}

func TestSlackTimestampWindow(t *testing.T) {
	// The request keeps the documented timestamp and signature, and the
	// server's clock moves. slack.VerifyRequest rejects a skew greater
	// than slack.MaxClockSkew in either direction, so exactly five
	// minutes is still accepted.
	body := readFixture(t, "slack", "slash_command.signing-example.body.txt")
	sent := time.Unix(vectorTimestamp, 0)
	tests := []struct {
		name       string
		now        time.Time
		wantStatus int
	}{
		{"same second", sent, http.StatusOK},
		{"exactly 5 min old", sent.Add(5 * time.Minute), http.StatusOK},
		{"5 min and 1 ns old", sent.Add(5*time.Minute + time.Nanosecond), http.StatusUnauthorized},
		{"5 min and 1 s old", sent.Add(5*time.Minute + time.Second), http.StatusUnauthorized},
		{"exactly 5 min ahead", sent.Add(-5 * time.Minute), http.StatusOK},
		{"5 min and 1 s ahead", sent.Add(-5*time.Minute - time.Second), http.StatusUnauthorized},
		{"a day ahead", sent.Add(-24 * time.Hour), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(s *handlers.Server) {
				s.SlackSecret = []byte(vectorSecret)
				s.SlashCommand = vectorCommand
				s.Now = func() time.Time { return tt.now }
			})
			req := h.slackRequest(t, vectorSecret, vectorTimestamp, body)
			require.Equal(t, vectorSignature, req.Header.Get(slack.SignatureHeader), "signature of the example")

			got := h.do(t, req)

			assert.Equal(t, tt.wantStatus, got.status, "status: got %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			if tt.wantStatus == http.StatusUnauthorized {
				assert.Contains(t, got.json(t)["error"], "request timestamp is outside the allowed clock skew")
			}
			h.requireNothingStored(t)
		})
	}
}

func TestSlackRejectsMalformed(t *testing.T) {
	valid := slackForm("promote model fraud-detector 3", nil)
	tests := []struct {
		name              string
		emptyServerSecret bool
		body              []byte
		// edit changes the headers of a request signed with
		// testSlackSecret at testNow.
		edit       func(h http.Header, body []byte)
		wantStatus int
		wantError  string
	}{
		{
			name:       "missing signature header",
			body:       valid,
			edit:       func(h http.Header, _ []byte) { h.Del(slack.SignatureHeader) },
			wantStatus: http.StatusUnauthorized, wantError: "missing X-Slack-Signature header",
		},
		{
			name:       "missing timestamp header",
			body:       valid,
			edit:       func(h http.Header, _ []byte) { h.Del(slack.TimestampHeader) },
			wantStatus: http.StatusUnauthorized, wantError: "missing X-Slack-Request-Timestamp header",
		},
		{
			name:       "non-numeric timestamp",
			body:       valid,
			edit:       func(h http.Header, _ []byte) { h.Set(slack.TimestampHeader, "yesterday") },
			wantStatus: http.StatusUnauthorized, wantError: "invalid X-Slack-Request-Timestamp header",
		},
		{
			name: "signature of another secret",
			body: valid,
			edit: func(h http.Header, body []byte) {
				h.Set(slack.SignatureHeader, slack.Sign([]byte("another secret"), testNow.Unix(), body))
			},
			wantStatus: http.StatusUnauthorized, wantError: "request signature does not match",
		},
		{
			name: "signature of another timestamp",
			body: valid,
			edit: func(h http.Header, body []byte) {
				h.Set(slack.SignatureHeader, slack.Sign([]byte(testSlackSecret), testNow.Unix()-1, body))
			},
			wantStatus: http.StatusUnauthorized, wantError: "request signature does not match",
		},
		{
			name:              "empty secret on the server",
			emptyServerSecret: true,
			body:              valid,
			edit: func(h http.Header, body []byte) {
				h.Set(slack.SignatureHeader, slack.Sign(nil, testNow.Unix(), body))
			},
			wantStatus: http.StatusUnauthorized, wantError: "slack signing secret is empty",
		},
		{
			name:       "missing user_id",
			body:       slackForm("promote model fraud-detector 3", func(f url.Values) { f.Del("user_id") }),
			edit:       func(http.Header, []byte) {},
			wantStatus: http.StatusBadRequest, wantError: "missing user_id or response_url",
		},
		{
			name:       "missing response_url",
			body:       slackForm("promote model fraud-detector 3", func(f url.Values) { f.Del("response_url") }),
			edit:       func(http.Header, []byte) {},
			wantStatus: http.StatusBadRequest, wantError: "missing user_id or response_url",
		},
		{
			name:       "unknown command",
			body:       slackForm("promote model fraud-detector 3", func(f url.Values) { f.Set("command", "/deploy") }),
			edit:       func(http.Header, []byte) {},
			wantStatus: http.StatusBadRequest, wantError: "unknown command /deploy: this endpoint serves /mlops",
		},
		{
			name:       "invalid form encoding",
			body:       []byte("command=%2Fmlops&text=%zz"),
			edit:       func(http.Header, []byte) {},
			wantStatus: http.StatusBadRequest, wantError: "body is not a valid form",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(s *handlers.Server) {
				if tt.emptyServerSecret {
					s.SlackSecret = nil
				}
			})
			req := h.slackRequest(t, testSlackSecret, testNow.Unix(), tt.body)
			tt.edit(req.Header, tt.body)

			got := h.do(t, req)

			assert.Equal(t, tt.wantStatus, got.status, "status: got %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			assert.Contains(t, got.json(t)["error"], tt.wantError)
			h.requireNothingStored(t)
		})
	}
}

func TestSlackBodyTooLarge(t *testing.T) {
	h := newHarness(t, nil)
	const size = handlers.MaxSlackBody + 1
	req, err := http.NewRequest(http.MethodPost, h.url+"/slack/commands", filler(size))
	require.NoError(t, err)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(slack.TimestampHeader, strconv.FormatInt(testNow.Unix(), 10))
	req.Header.Set(slack.SignatureHeader, "v0="+streamHMAC(t, testSlackSecret,
		io.MultiReader(strings.NewReader("v0:"+strconv.FormatInt(testNow.Unix(), 10)+":"), filler(size))))

	got := h.do(t, req)

	assert.Equal(t, http.StatusRequestEntityTooLarge, got.status, "status: got %d, want 413 (body %s)", got.status, got.body)
	assert.Contains(t, got.json(t)["error"], "body exceeds 1 MiB")
	h.requireNothingStored(t)
}

func TestSlackHelpTopic(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		topic string
		want  string
	}{
		{"known topic", "help promote", "promote", "Example: `/mlops promote model fraud-detector 3 --to champion`"},
		{"unknown topic", "help promot", "promot", "No command is named `promot`. Did you mean `/mlops help promote`?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)

			got := h.postSlack(t, slackForm(tt.text, nil))

			require.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
			reply := decodeSlackReply(t, got)
			assert.Equal(t, "ephemeral", reply.ResponseType)
			assert.Equal(t, h.server.Grammar.HelpFor(tt.topic), reply.Text)
			assert.Contains(t, reply.Text, tt.want)
			assert.NotContains(t, reply.Text, "*sopbot commands*", "a topic narrows the help")
			h.requireNothingStored(t)
		})
	}
}

func TestSlackAnswersWithoutStoring(t *testing.T) {
	tests := []struct {
		name         string
		text         string
		wantHelp     bool
		wantContains []string
	}{
		{"misspelled verb", "promte model x 1", false, []string{"Unknown command `promte model x 1`.", "Did you mean `/mlops promote model`?"}},
		{"missing argument", "promote model fraud-detector", false, []string{"Missing <version>."}},
		{"help", "help", true, nil},
		{"empty text", "", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)

			got := h.postSlack(t, slackForm(tt.text, nil))

			require.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
			reply := decodeSlackReply(t, got)
			assert.Equal(t, "ephemeral", reply.ResponseType)
			if tt.wantHelp {
				assert.Equal(t, h.server.Grammar.Help(), reply.Text)
			}
			for _, want := range tt.wantContains {
				assert.Contains(t, reply.Text, want)
			}
			h.requireNothingStored(t)
		})
	}
}

func TestSlackStoresCommand(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		wantAction string
	}{
		{"open a request", "promote model fraud-detector 3", "open"},
		{"built-in command", "status #1", "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			body := slackForm(tt.text, nil)

			first := h.postSlack(t, body)

			require.Equal(t, http.StatusOK, first.status, "first post: got %d, want 200 (body %s)", first.status, first.body)
			assert.Equal(t, slackReply{ResponseType: "ephemeral", Text: "Working on `/mlops " + tt.text + "`…"}, decodeSlackReply(t, first))
			want := storedDelivery{
				ID: "slack:" + testTriggerID, Source: "slack", Event: "slash_command", Action: tt.wantAction, Payload: body,
			}
			assert.Equal(t, []storedDelivery{want}, h.deliveries(t), "deliveries after the first post")
			assert.Equal(t, []storedJob{{Kind: "process_delivery", DeliveryID: want.ID}}, h.jobs(t), "jobs after the first post")

			second := h.postSlack(t, body)

			require.Equal(t, http.StatusOK, second.status, "second post: got %d, want 200 (body %s)", second.status, second.body)
			reply := decodeSlackReply(t, second)
			assert.Equal(t, "ephemeral", reply.ResponseType)
			assert.Contains(t, reply.Text, "already received")
			assert.Len(t, h.deliveries(t), 1, "deliveries after the second post")
			assert.Len(t, h.jobs(t), 1, "jobs after the second post")
		})
	}
}

func TestSlackCommandWithoutTriggerID(t *testing.T) {
	h := newHarness(t, nil)
	body := slackForm("promote model fraud-detector 3", func(f url.Values) { f.Del("trigger_id") })
	sum := sha256.Sum256(body)

	got := h.postSlack(t, body)

	require.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
	stored := h.deliveries(t)
	require.Len(t, stored, 1)
	assert.Equal(t, "slack:sha256-"+hex.EncodeToString(sum[:]), stored[0].ID, "delivery id of a command without trigger_id")
	assert.Len(t, h.jobs(t), 1)
}
