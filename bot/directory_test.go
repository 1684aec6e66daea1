package bot_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
)

// fakeTeams is a bot.TeamChecker over a fixed membership list that
// records every call as "org/team login".
type fakeTeams struct {
	members map[string]bool // "org/team login"
	err     error

	mu    sync.Mutex
	calls []string
}

func (f *fakeTeams) IsTeamMember(_ context.Context, _ int64, org, team, login string) (bool, error) {
	key := fmt.Sprintf("%s/%s %s", org, team, login)
	f.mu.Lock()
	f.calls = append(f.calls, key)
	f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	return f.members[key], nil
}

func (f *fakeTeams) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func teamConfig() config.Config {
	return config.Config{
		Roles: map[string]config.Holders{
			"ML lead":            {Teams: []string{"acme/ml-leads"}},
			"compliance officer": {GitHub: []string{"Erin"}},
		},
		People: []config.Person{{GitHub: "Dana", Slack: "U0DANA"}},
	}
}

func TestDirectoryTeamMembershipCached(t *testing.T) {
	t.Parallel()
	teams := &fakeTeams{members: map[string]bool{"acme/ml-leads dana": true}}
	dir := bot.NewDirectory(teamConfig(), teams)
	ctx := context.Background()

	first := dir.Resolve(ctx, 1, "Dana")
	second := dir.Resolve(ctx, 1, "dana")

	for i, actor := range []bot.Actor{first, second} {
		assert.True(t, actor.Holds("ML lead"), "resolve %d: holds ML lead", i+1)
		assert.True(t, actor.Holds("ml  LEAD"), "resolve %d: member names are normalized", i+1)
		assert.False(t, actor.Holds("compliance officer"), "resolve %d: holds compliance officer", i+1)
		assert.Empty(t, actor.Unresolved, "resolve %d: unresolved", i+1)
		assert.Equal(t, "dana", actor.Login, "resolve %d: login", i+1)
		assert.Equal(t, "U0DANA", actor.Slack, "resolve %d: Slack id", i+1)
	}
	assert.Equal(t, []string{"acme/ml-leads dana"}, teams.recorded(), "team lookups")
}

func TestDirectoryTeamErrorFailsClosed(t *testing.T) {
	t.Parallel()
	teams := &fakeTeams{err: errors.New("github: HTTP 502")}
	dir := bot.NewDirectory(teamConfig(), teams)
	ctx := context.Background()

	actor := dir.Resolve(ctx, 1, "dana")
	assert.False(t, actor.Holds("ML lead"), "holds ML lead")
	assert.Equal(t, []string{"ml lead"}, actor.Unresolved, "unresolved")

	dir.Resolve(ctx, 1, "dana")
	assert.Len(t, teams.recorded(), 2, "a failed lookup is not cached")
}

func TestDirectoryResolve(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		teams      bot.TeamChecker
		login      string
		members    []string
		unresolved []string
	}{
		{"listed login any case", nil, "ERIN", []string{"compliance officer"}, []string{"ml lead"}},
		{"no team client", nil, "dana", nil, []string{"ml lead"}},
		{"team non-member", &fakeTeams{members: map[string]bool{}}, "bob", nil, nil},
		{"empty login", &fakeTeams{}, "", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := bot.NewDirectory(teamConfig(), tc.teams)
			actor := dir.Resolve(context.Background(), 1, tc.login)
			for _, member := range []string{"ML lead", "compliance officer"} {
				want := false
				for _, held := range tc.members {
					want = want || held == member
				}
				assert.Equal(t, want, actor.Holds(member), "holds %s", member)
			}
			assert.Equal(t, tc.unresolved, actor.Unresolved, "unresolved")
		})
	}
}

func TestDirectoryPeople(t *testing.T) {
	t.Parallel()
	dir := bot.NewDirectory(teamConfig(), nil)

	login, ok := dir.LoginForSlack("U0DANA")
	assert.True(t, ok, "U0DANA is paired")
	assert.Equal(t, "dana", login, "login for U0DANA")
	_, ok = dir.LoginForSlack("U0NOBODY")
	assert.False(t, ok, "U0NOBODY is paired")
	assert.Equal(t, "U0DANA", dir.SlackForLogin("DANA"), "Slack id for DANA")
	assert.Equal(t, []string{"@acme/ml-leads"}, dir.Handles("ml lead"), "handles of ML lead")
	assert.Equal(t, []string{"@Erin"}, dir.Handles("Compliance Officer"), "handles of compliance officer")
}
