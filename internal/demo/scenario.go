package demo

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sopbot/sopbot/integrations/github/githubfake"
	"github.com/sopbot/sopbot/integrations/slack"
	"github.com/sopbot/sopbot/sop"
)

// Scenario drives SOP-02 through a running bot, the way its users would,
// and checks the end state.
type Scenario struct {
	Fakes     *Fakes
	ServerURL string // the bot's base URL, such as http://127.0.0.1:8080
	// DB is a read-only handle on the bot's database, used to wait until
	// the bot has processed everything it was sent and to print the audit
	// trail.
	DB  *sql.DB
	Out io.Writer
	// Timeout bounds each wait for the bot.
	Timeout time.Duration

	sop   *sop.SOP
	issue int
	pr    int
	step  int
}

// Run plays the whole promotion and returns an error naming the first
// expectation that failed.
func (s *Scenario) Run(ctx context.Context) error {
	if err := s.setup(); err != nil {
		return err
	}

	return s.runPhases(ctx, s.openRequest, s.repeatRequest, s.preconditions, s.pullRequest, s.technicalReview, s.outsiderTick,
		s.complianceReview, s.pullRequestApprovals, s.deployment, s.verify, s.printAudit)
}

// ReachApproval plays the promotion up to the approval gate: the request
// is open, every review is done and pull request PR() is linked.
func (s *Scenario) ReachApproval(ctx context.Context) error {
	if err := s.setup(); err != nil {
		return err
	}
	return s.runPhases(ctx, s.openRequest, s.preconditions, s.pullRequest, s.technicalReview, s.complianceReview)
}

// Open plays the promotion up to the opened issue.
func (s *Scenario) Open(ctx context.Context) error {
	if err := s.setup(); err != nil {
		return err
	}
	return s.runPhases(ctx, s.openRequest)
}

// Issue returns the request's issue number; PR the linked pull request's.
func (s *Scenario) Issue() int { return s.issue }

// PR returns the linked pull request's number.
func (s *Scenario) PR() int { return s.pr }

// Settle waits until the bot has processed everything it was sent.
func (s *Scenario) Settle(ctx context.Context) error { return s.settle(ctx) }

// Tick ticks boxes of the request's issue as p and waits for the bot.
func (s *Scenario) Tick(ctx context.Context, p Person, keys ...string) error {
	return s.tick(ctx, p, keys...)
}

// Checked reports whether a box of the request's issue is ticked.
func (s *Scenario) Checked(key string) bool { return s.checked(key) }

func (s *Scenario) runPhases(ctx context.Context, phases ...func(context.Context) error) error {
	for _, phase := range phases {
		if err := phase(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scenario) setup() error { return s.setupFor("SOP-02") }

// setupFor prepares a scenario of the SOP with the given ID.
func (s *Scenario) setupFor(id string) error {
	lib, err := sop.Embedded()
	if err != nil {
		return err
	}
	var ok bool
	if s.sop, ok = lib.Get(id); !ok {
		return errors.New("the embedded library has no " + id)
	}
	s.issue, s.pr = 0, 0
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
	if s.Out == nil {
		s.Out = io.Discard
	}
	s.Fakes.seedRegistry()
	return nil
}

func (s *Scenario) say(format string, args ...any) {
	s.step++
	fmt.Fprintf(s.Out, "\n== %d. %s\n", s.step, fmt.Sprintf(format, args...))
}

func (s *Scenario) show(who, text string) {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	fmt.Fprintf(s.Out, "   %s: %s\n", who, lines[0])
	for _, line := range lines[1:] {
		fmt.Fprintf(s.Out, "   %s  %s\n", strings.Repeat(" ", len(who)), line)
	}
}

// SlackReply is the JSON body of the bot's immediate response to a slash
// command.
type SlackReply struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// slashCommand posts a signed slash command, shaped as Slack sends it, and
// returns the immediate reply.
func (s *Scenario) slashCommand(ctx context.Context, p Person, text string) (SlackReply, error) {
	form := url.Values{
		"token": {"demo-verification-token"}, "team_id": {"T0DEMO"}, "team_domain": {"acme"},
		"channel_id": {Channel}, "channel_name": {"mlops"}, "user_id": {p.Slack}, "user_name": {p.Login},
		"command": {"/mlops"}, "text": {text}, "api_app_id": {"A0SOPBOT"}, "is_enterprise_install": {"false"},
		"response_url": {s.Fakes.Slack.NewResponseURL()}, "trigger_id": {"demo." + randomHex(8)},
	}
	body := []byte(form.Encode())
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.ServerURL+"/slack/commands", bytes.NewReader(body))
	if err != nil {
		return SlackReply{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", slack.Sign(s.Fakes.SigningSecret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return SlackReply{}, fmt.Errorf("posting the slash command: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return SlackReply{}, fmt.Errorf("slash command returned status %d: %s", resp.StatusCode, reply)
	}
	var out SlackReply
	if err := json.Unmarshal(reply, &out); err != nil {
		return out, fmt.Errorf("slash command reply is not JSON: %w", err)
	}
	return out, nil
}

// settle waits until every webhook is delivered and every delivery and job
// is processed.
func (s *Scenario) settle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	quiet := 0
	for quiet < 3 {
		if err := s.Fakes.GitHub.WaitIdle(ctx); err != nil {
			return fmt.Errorf("waiting for webhook deliveries: %w", err)
		}
		var pending int
		err := s.DB.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM deliveries WHERE processed_at IS NULL) +
			(SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending'))`).Scan(&pending)
		if err != nil {
			return fmt.Errorf("reading the bot's queue: %w", err)
		}
		if pending == 0 {
			quiet++
		} else {
			quiet = 0
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the bot did not settle within %s (%d pending)", s.Timeout, pending)
		case <-time.After(30 * time.Millisecond):
		}
	}
	return nil
}

// tick ticks the boxes as p, in one edit, as GitHub's task list does.
func (s *Scenario) tick(ctx context.Context, p Person, keys ...string) error {
	issue, ok := s.Fakes.GitHub.Issue(s.issue)
	if !ok {
		return fmt.Errorf("issue #%d is missing", s.issue)
	}
	body := issue.Body
	for _, key := range keys {
		var changed bool
		if body, changed = sop.SetChecked(body, key, true); !changed {
			return fmt.Errorf("box %s of #%d was already ticked or is missing", key, s.issue)
		}
	}
	if err := s.Fakes.GitHub.UserEditBody(p.Login, s.issue, body); err != nil {
		return err
	}
	return s.settle(ctx)
}

// keys returns the item keys of one section of the scenario's SOP.
func (s *Scenario) keys(section string) []string {
	sec, _ := s.sop.Section(section)
	var keys []string
	for _, item := range sec.Items {
		keys = append(keys, item.Key)
	}
	return keys
}

func (s *Scenario) checked(key string) bool {
	issue, _ := s.Fakes.GitHub.Issue(s.issue)
	return sop.ReadChecklist(issue.Body)[key].Checked
}

// newComments returns the issue's comments after the first skip ones.
func (s *Scenario) newComments(skip int) []githubfake.Comment {
	comments := s.Fakes.GitHub.Comments(s.issue)
	if skip >= len(comments) {
		return nil
	}
	return comments[skip:]
}

func (s *Scenario) showComments(skip int) int {
	comments := s.Fakes.GitHub.Comments(s.issue)
	for _, c := range s.newComments(skip) {
		s.show("GitHub comment by "+c.User, stripMarkers(c.Body))
	}
	return len(comments)
}

func stripMarkers(body string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "<!-- sopbot:") {
			out = append(out, line)
		}
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
