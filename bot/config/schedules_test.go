package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePeriod(t *testing.T) {
	cases := []struct {
		text string
		want Period
	}{
		{"daily", Period{UnitDay, 1}},
		{"Weekly", Period{UnitWeek, 1}},
		{" monthly ", Period{UnitMonth, 1}},
		{"quarterly", Period{UnitMonth, 3}},
		{"annually", Period{UnitMonth, 12}},
		{"yearly", Period{UnitMonth, 12}},
		{"every 90 days", Period{UnitDay, 90}},
		{"every day", Period{UnitDay, 1}},
		{"every 2 weeks", Period{UnitWeek, 2}},
		{"every 6 months", Period{UnitMonth, 6}},
		{"every 2 quarters", Period{UnitMonth, 6}},
		{"every  year", Period{UnitMonth, 12}},
	}
	for _, tc := range cases {
		got, err := ParsePeriod(tc.text)
		require.NoError(t, err, tc.text)
		assert.Equal(t, tc.want, got, tc.text)
	}
}

func TestParsePeriodRejects(t *testing.T) {
	for _, text := range []string{"", "often", "every 0 days", "every -3 days", "every 20 years", "90 days", "every 90"} {
		_, err := ParsePeriod(text)
		assert.Error(t, err, "%q", text)
	}
}

func TestScheduleDefaults(t *testing.T) {
	c := Config{}.WithDefaults().Schedules
	assert.Equal(t, time.Minute, c.TickInterval(), "tick")
	assert.Equal(t, 30, c.InventoryAudit.InactiveDays, "inactive days")
	assert.Equal(t, 90, c.ModelAudit.StaleDays, "stale days")
	assert.Equal(t, "daily", c.SecretRotation.Every, "rotation check period")
	assert.Empty(t, c.InventoryAudit.Every, "the inventory audit takes its period from the SOP")
	for name, on := range map[string]bool{
		"reviews": c.Reviews.IsEnabled(), "inventoryAudit": c.InventoryAudit.IsEnabled(),
		"modelAudit": c.ModelAudit.IsEnabled(), "secretRotation": c.SecretRotation.IsEnabled(), "windows": c.Windows.IsEnabled(),
	} {
		assert.True(t, on, "%s is on by default", name)
	}
}

func TestLoadSchedules(t *testing.T) {
	text := validYAML + `
schedules:
  tick: 30s
  reviews: {enabled: false}
  inventoryAudit: {every: every 2 weeks, inactiveDays: 14}
  modelAudit: {enabled: true, staleDays: 60}
  secretRotation: {every: weekly}
  windows: {enabled: false, durations: {sop-02-monitoring: 48h, other-window: 0s}}
`
	cfg, err := Load(writeConfig(t, text), noEnv)
	require.NoError(t, err)
	s := cfg.Schedules
	assert.Equal(t, 30*time.Second, s.TickInterval(), "tick")
	assert.False(t, s.Reviews.IsEnabled(), "reviews")
	assert.True(t, s.InventoryAudit.IsEnabled(), "inventory audit")
	assert.Equal(t, "every 2 weeks", s.InventoryAudit.Every, "inventory audit period")
	assert.Equal(t, 14, s.InventoryAudit.InactiveDays, "inactive days")
	assert.Equal(t, 60, s.ModelAudit.StaleDays, "stale days")
	assert.Equal(t, "weekly", s.SecretRotation.Every, "rotation check period")
	assert.False(t, s.Windows.IsEnabled(), "windows")
	assert.Equal(t, map[string]time.Duration{"sop-02-monitoring": 48 * time.Hour, "other-window": 0}, s.Windows.DurationMap(), "window durations")
}

func TestLoadSchedulesRejectsInvalid(t *testing.T) {
	text := validYAML + `
schedules:
  tick: 2h
  inventoryAudit: {every: fortnightly, inactiveDays: -1}
  modelAudit: {staleDays: -5}
  secretRotation: {every: every 0 days}
  windows: {durations: {Monitoring: 24h, sop-02-monitoring: soon}}
`
	_, err := Load(writeConfig(t, text), noEnv)
	require.Error(t, err)
	for _, want := range []string{
		`schedules.tick "2h"`, `schedules.inventoryAudit.every: "fortnightly" is not a period`,
		"schedules.inventoryAudit.inactiveDays -1", "schedules.modelAudit.staleDays -5",
		`schedules.secretRotation.every: "every 0 days"`,
		`schedules.windows.durations: "Monitoring" is not a window id`, `schedules.windows.durations["sop-02-monitoring"] "soon"`,
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestLoadSchedulesRejectsUnknownKey(t *testing.T) {
	_, err := Load(writeConfig(t, validYAML+"schedules:\n  modelAudit: {staledays: 3}\n"), noEnv)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "schedules.modelAudit.staledays"), err.Error())
}
