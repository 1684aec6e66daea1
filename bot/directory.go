package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sopbot/sopbot/bot/config"
)

// TeamChecker answers GitHub team membership questions.
type TeamChecker interface {
	IsTeamMember(ctx context.Context, installationID int64, org, team, login string) (bool, error)
}

// Actor is who caused an event, with the role members they hold, resolved
// before the engine's transaction so the engine does no I/O.
type Actor struct {
	Login string // GitHub login; empty for an unmapped Slack user
	Slack string // Slack user id, for Slack commands
	Bot   bool
	// Members are the normalized role members the actor holds.
	Members map[string]bool
	// Unresolved names the role members whose membership could not be
	// determined; the engine treats them as not held and says so.
	Unresolved []string
}

// Holds reports whether the actor holds member.
func (a Actor) Holds(member string) bool { return a.Members[normalizeMember(member)] }

// Mention returns how a comment names the actor.
func (a Actor) Mention() string {
	switch {
	case a.Login != "":
		return "@" + a.Login
	case a.Slack != "":
		return "Slack user " + a.Slack
	}
	return "someone (found by the reconciliation sweep)"
}

// Directory maps role members to people, from the configuration, with
// GitHub team membership looked up and cached for a short time.
type Directory struct {
	holders      map[string]config.Holders
	slackToLogin map[string]string
	loginToSlack map[string]string
	emailToLogin map[string]string
	teams        TeamChecker
	ttl          time.Duration
	now          func() time.Time

	mu    sync.Mutex
	cache map[string]cachedMembership
}

type cachedMembership struct {
	member  bool
	expires time.Time
}

// NewDirectory builds the directory. teams may be nil when no role names a
// team.
func NewDirectory(cfg config.Config, teams TeamChecker) *Directory {
	d := &Directory{
		holders:      map[string]config.Holders{},
		slackToLogin: map[string]string{},
		loginToSlack: map[string]string{},
		emailToLogin: map[string]string{},
		teams:        teams,
		ttl:          5 * time.Minute,
		now:          time.Now,
		cache:        map[string]cachedMembership{},
	}
	for member, h := range cfg.Roles {
		d.holders[normalizeMember(member)] = h
	}
	for _, p := range cfg.People {
		login := strings.ToLower(p.GitHub)
		if p.Slack != "" {
			d.slackToLogin[p.Slack] = login
			d.loginToSlack[login] = p.Slack
		}
		if p.Email != "" {
			d.emailToLogin[strings.ToLower(p.Email)] = login
		}
	}
	return d
}

func normalizeMember(member string) string {
	return strings.Join(strings.Fields(strings.ToLower(member)), " ")
}

// LoginForSlack returns the GitHub login paired with a Slack user.
func (d *Directory) LoginForSlack(slackID string) (string, bool) {
	login, ok := d.slackToLogin[slackID]
	return login, ok
}

// LoginForEmail returns the GitHub login paired with a Slack profile
// e-mail, matched without case.
func (d *Directory) LoginForEmail(email string) (string, bool) {
	login, ok := d.emailToLogin[strings.ToLower(strings.TrimSpace(email))]
	return login, ok && email != ""
}

// HasEmails reports whether any person is paired by e-mail.
func (d *Directory) HasEmails() bool { return len(d.emailToLogin) > 0 }

// SlackForLogin returns the Slack user paired with a GitHub login.
func (d *Directory) SlackForLogin(login string) string {
	return d.loginToSlack[strings.ToLower(login)]
}

// Handles returns the people and teams holding member, as @mentions.
func (d *Directory) Handles(member string) []string {
	h := d.holders[normalizeMember(member)]
	var out []string
	for _, login := range h.GitHub {
		out = append(out, "@"+login)
	}
	for _, team := range h.Teams {
		out = append(out, "@"+team)
	}
	return out
}

// Resolve returns the actor for a GitHub login, with every role member the
// login holds. A team lookup that fails leaves that member unheld and
// named in Unresolved: the check fails closed.
func (d *Directory) Resolve(ctx context.Context, installationID int64, login string) Actor {
	actor := Actor{Login: strings.ToLower(login), Members: map[string]bool{}}
	actor.Slack = d.loginToSlack[actor.Login]
	if actor.Login == "" {
		return actor
	}
	members := make([]string, 0, len(d.holders))
	for member := range d.holders {
		members = append(members, member)
	}
	slices.Sort(members)
	for _, member := range members {
		held, err := d.holds(ctx, installationID, member, actor.Login)
		if err != nil {
			actor.Unresolved = append(actor.Unresolved, member)
			continue
		}
		if held {
			actor.Members[member] = true
		}
	}
	return actor
}

func (d *Directory) holds(ctx context.Context, installationID int64, member, login string) (bool, error) {
	h := d.holders[member]
	for _, l := range h.GitHub {
		if strings.EqualFold(l, login) {
			return true, nil
		}
	}
	var firstErr error
	for _, team := range h.Teams {
		held, err := d.teamMember(ctx, installationID, team, login)
		if err != nil {
			firstErr = err
			continue
		}
		if held {
			return true, nil
		}
	}
	return false, firstErr
}

func (d *Directory) teamMember(ctx context.Context, installationID int64, team, login string) (bool, error) {
	key := team + "\x00" + login
	d.mu.Lock()
	cached, ok := d.cache[key]
	d.mu.Unlock()
	if ok && d.now().Before(cached.expires) {
		return cached.member, nil
	}
	if d.teams == nil {
		return false, fmt.Errorf("no GitHub client to check team %s", team)
	}
	org, slug, _ := strings.Cut(team, "/")
	member, err := d.teams.IsTeamMember(ctx, installationID, org, slug, login)
	if err != nil {
		return false, fmt.Errorf("checking membership of %s in team %s: %w", login, team, err)
	}
	d.mu.Lock()
	d.cache[key] = cachedMembership{member: member, expires: d.now().Add(d.ttl)}
	d.mu.Unlock()
	return member, nil
}
