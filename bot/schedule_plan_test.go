package bot

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/sop"
)

func mustParsePeriod(t *testing.T, text string) period {
	t.Helper()
	p, err := config.ParsePeriod(text)
	require.NoError(t, err, text)
	return period{p}
}

func utc(year int, month time.Month, day, hour int) time.Time {
	return time.Date(year, month, day, hour, 0, 0, 0, time.UTC)
}

func TestPeriodBoundaries(t *testing.T) {
	cases := []struct {
		period    string
		at        time.Time
		start     time.Time
		next      time.Time
		key       string
		label     string
		adjective string
	}{
		{"monthly", utc(2026, 12, 15, 10), utc(2026, 12, 1, 0), utc(2027, 1, 1, 0), "2026-12", "December 2026", "Monthly"},
		{"monthly", utc(2026, 12, 1, 0), utc(2026, 12, 1, 0), utc(2027, 1, 1, 0), "2026-12", "December 2026", "Monthly"},
		{"quarterly", utc(2026, 11, 30, 23), utc(2026, 10, 1, 0), utc(2027, 1, 1, 0), "2026-Q4", "Q4 2026", "Quarterly"},
		{"quarterly", utc(2027, 2, 1, 0), utc(2027, 1, 1, 0), utc(2027, 4, 1, 0), "2027-Q1", "Q1 2027", "Quarterly"},
		{"annually", utc(2026, 7, 4, 12), utc(2026, 1, 1, 0), utc(2027, 1, 1, 0), "2026", "2026", "Annual"},
		{"every 6 months", utc(2026, 12, 15, 0), utc(2026, 7, 1, 0), utc(2027, 1, 1, 0), "2026-07", "July 2026 to December 2026", "6-month"},
		// 3 December 2026 is a Thursday; its ISO week 49 starts on Monday
		// 30 November.
		{"weekly", utc(2026, 12, 3, 9), utc(2026, 11, 30, 0), utc(2026, 12, 7, 0), "2026-W49", "week 49 of 2026", "Weekly"},
		{"daily", utc(2026, 12, 3, 23), utc(2026, 12, 3, 0), utc(2026, 12, 4, 0), "2026-12-03", "3 December 2026", "Daily"},
		// Day 20,424 of the epoch (2025-12-02) is a multiple of 3, so a
		// 3-day period starts there.
		{"every 3 days", utc(2025, 12, 3, 5), utc(2025, 12, 2, 0), utc(2025, 12, 5, 0), "2025-12-02", "2 December 2025 to 4 December 2025", "3-day"},
	}
	for _, tc := range cases {
		p := mustParsePeriod(t, tc.period)
		start := p.start(tc.at)
		assert.Equal(t, tc.start, start, "%s start of %s", tc.period, tc.at)
		assert.Equal(t, tc.next, p.next(tc.at), "%s next after %s", tc.period, tc.at)
		assert.Equal(t, tc.key, p.key(start), "%s key", tc.period)
		assert.Equal(t, tc.label, p.label(start), "%s label", tc.period)
		assert.Equal(t, tc.adjective, p.adjective(), "%s adjective", tc.period)
		assert.Equal(t, start, p.previous(p.next(tc.at)), "%s previous of next", tc.period)
	}
}

func TestPeriodEveryNDaysIsStable(t *testing.T) {
	p := mustParsePeriod(t, "every 90 days")
	start := p.start(utc(2026, 12, 3, 0))
	for day := 0; day < 90; day++ {
		at := start.AddDate(0, 0, day).Add(13 * time.Hour)
		assert.Equal(t, start, p.start(at), "day %d of the period", day)
	}
	assert.Equal(t, start.AddDate(0, 0, 90), p.next(start), "next")
}

func TestParseCadenceLine(t *testing.T) {
	cases := []struct {
		line    string
		period  string
		subject string
		slug    string
	}{
		{"Review the approval process monthly", "monthly", "Review the approval process", "approval-process"},
		{"Audit the model registry quarterly for orphaned models", "quarterly", "Audit the model registry for orphaned models", "model-registry-for-orphaned-models"},
		{"Rotate cloud credentials every 90 days", "every 90 days", "Rotate cloud credentials", "cloud-credentials"},
		{"Audit the retraining frequency quarterly for cost/benefit", "quarterly", "Audit the retraining frequency for cost/benefit", "retraining-frequency-for-cost-benefit"},
		{"Weekly: check the alert routing", "weekly", ": check the alert routing", "alert-routing"},
		{"Review the whole SOP annually", "annually", "Review the whole SOP", "whole-sop"},
	}
	for _, tc := range cases {
		line := parseCadenceLine(&sop.SOP{ID: "SOP-09"}, tc.line)
		require.True(t, line.hasPeriod, tc.line)
		assert.Equal(t, mustParsePeriod(t, tc.period), line.period, "period of %q", tc.line)
		assert.Equal(t, tc.subject, line.subject, "subject of %q", tc.line)
		assert.Equal(t, tc.slug, cadenceSlug(line.subject), "slug of %q", tc.line)
	}
}

func TestParseCadenceLineWithoutPeriod(t *testing.T) {
	for _, text := range []string{
		"Rotate API tokens when the provider recommends it or after a breach",
		"Review after every incident",
		"Twice a year, review the roles",
	} {
		assert.False(t, parseCadenceLine(&sop.SOP{ID: "SOP-09"}, text).hasPeriod, text)
	}
}

// planOf plans the embedded library with cfg's defaults.
func planOf(t *testing.T, cfg config.Schedules, canSearchRuns, canSearchModels bool) schedulePlan {
	t.Helper()
	lib, err := sop.Embedded()
	require.NoError(t, err)
	full := config.Config{Schedules: cfg}.WithDefaults()
	return planSchedules(lib.SOPs(), full.Schedules, canSearchRuns, canSearchModels)
}

func planned(plan schedulePlan) map[string]string {
	out := map[string]string{}
	for _, def := range plan.schedules {
		out[def.name] = def.period.String()
	}
	return out
}

func TestPlanEmbeddedLibrary(t *testing.T) {
	plan := planOf(t, config.Schedules{}, true, true)
	assert.Equal(t, map[string]string{
		"review:SOP-01:onboarding-process-for-improvements":          "quarterly",
		"review:SOP-02:approval-process":                             "monthly",
		"review:SOP-03:drift-thresholds-against-false-positive-rate": "monthly",
		"review:SOP-03:retraining-frequency-for-cost-benefit":        "quarterly",
		scheduleInventoryAudit:                                       "monthly",
		scheduleModelAudit:                                           "quarterly",
		scheduleSecretRotation:                                       "daily",
	}, planned(plan))
	assert.Equal(t, []string{"SOP-04: Rotate API tokens when the provider recommends it or after a breach"}, plan.unscheduled, "lines without a period")
	assert.Equal(t, []string{
		"SOP-01: Audit the project inventory monthly for inactive projects → inventory-audit",
		"SOP-02: Audit the model registry quarterly for orphaned models → model-audit",
		"SOP-04: Rotate cloud credentials every 90 days → secret-rotation",
		"SOP-04: Rotate DB passwords every 180 days → secret-rotation",
	}, plan.carriedOut, "lines the bot's jobs carry out")

	audit, ok := plan.byName(scheduleInventoryAudit)
	require.True(t, ok)
	assert.Equal(t, "SOP-01", audit.topic.SOPID, "the audit reviews SOP-01's line")
	assert.Equal(t, "Audit the project inventory for inactive projects", audit.topic.Subject, "subject")
	rotation, ok := plan.byName(scheduleSecretRotation)
	require.True(t, ok)
	assert.Nil(t, rotation.topic, "the rotation check opens no review issue")
}

func TestPlanWithoutSearchersFallsBackToReviews(t *testing.T) {
	plan := planOf(t, config.Schedules{}, false, false)
	names := planned(plan)
	assert.NotContains(t, names, scheduleInventoryAudit, "no inventory audit")
	assert.NotContains(t, names, scheduleModelAudit, "no model audit")
	assert.Equal(t, "monthly", names["review:SOP-01:project-inventory-for-inactive-projects"], "the inventory line becomes a review")
	assert.Equal(t, "quarterly", names["review:SOP-02:model-registry-for-orphaned-models"], "the registry line becomes a review")
}

func TestPlanConfigOverrides(t *testing.T) {
	off := false
	cfg := config.Schedules{
		Reviews:        config.Switch{Enabled: &off},
		InventoryAudit: config.InventoryAudit{Every: "weekly"},
		ModelAudit:     config.ModelAudit{Enabled: &off},
		SecretRotation: config.SecretRotationCheck{Every: "every 2 days"},
	}
	assert.Equal(t, map[string]string{scheduleInventoryAudit: "weekly", scheduleSecretRotation: "every 2 days"}, planned(planOf(t, cfg, true, true)))

	cfg = config.Schedules{SecretRotation: config.SecretRotationCheck{Enabled: &off}}
	names := planned(planOf(t, cfg, true, true))
	assert.Equal(t, "every 90 days", names["review:SOP-04:cloud-credentials"], "rotation lines become reviews")
	assert.Equal(t, "every 180 days", names["review:SOP-04:db-passwords"], "rotation lines become reviews")
}

func TestReviewTitleAndMarker(t *testing.T) {
	plan := planOf(t, config.Schedules{}, true, true)
	def, ok := plan.byName("review:SOP-02:approval-process")
	require.True(t, ok)
	start := def.period.start(utc(2026, 12, 15, 0))
	assert.Equal(t, "[SOP-02] Monthly review: Review the approval process (December 2026)", reviewTitle(*def.topic, def.period, start))
	assert.Equal(t, "<!-- sopbot:review=SOP-02:approval-process:2026-12 -->", reviewMarker(*def.topic, def.period.key(start)))
}

func TestRepositoryWebURL(t *testing.T) {
	cases := map[string]string{
		"https://api.github.com/":          "https://github.com/acme/ml-requests",
		"https://ghe.example/api/v3/":      "https://ghe.example/acme/ml-requests",
		"http://127.0.0.1:8123/":           "http://127.0.0.1:8123/acme/ml-requests",
		"http://127.0.0.1:8123/ghe/api/v3": "http://127.0.0.1:8123/ghe/acme/ml-requests",
		"not a url":                        "",
	}
	for base, want := range cases {
		assert.Equal(t, want, repositoryWebURL(base, "acme/ml-requests"), base)
	}
}
