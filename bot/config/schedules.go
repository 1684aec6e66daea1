package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Schedules configures the bot's recurring work: the review issues of the
// SOPs' Review Cadence lines, the audits, the secret rotation check, the
// retraining check and the reminders of waiting windows. Every period is
// counted in UTC.
type Schedules struct {
	// Tick is how often the scheduler looks for due work, as a Go
	// duration; "1m" by default.
	Tick string `json:"tick"`
	// Reviews opens a review issue for each Review Cadence line that names
	// a period, except the lines an audit or the rotation check carries
	// out.
	Reviews Switch `json:"reviews"`
	// InventoryAudit lists the projects whose MLflow experiment had no run
	// in InactiveDays.
	InventoryAudit InventoryAudit `json:"inventoryAudit"`
	// ModelAudit lists the registered models that look orphaned.
	ModelAudit ModelAudit `json:"modelAudit"`
	// SecretRotation opens an SOP-04 request for each secret of the
	// inventory that is older than its kind's rotation.kinds maxAgeDays.
	SecretRotation SecretRotationCheck `json:"secretRotation"`
	// Retraining opens, once a day, an SOP-03 request for each model of
	// retraining.models whose every period has passed since its last
	// retraining request.
	Retraining Switch `json:"retraining"`
	// Windows configures the waiting windows of checklist items, such as
	// SOP-02's 24-hour monitoring window.
	Windows Windows `json:"windows"`
}

// Windows configures the waiting windows of checklist items.
type Windows struct {
	// Enabled turns on the reminder comment at the end of each window. It
	// is true unless set to false, and the windows hold their boxes back
	// either way.
	Enabled *bool `json:"enabled"`
	// Durations replaces the length of a window, by the window's id such
	// as "sop-02-monitoring", as a Go duration. "0s" removes the window.
	Durations map[string]string `json:"durations"`
}

// IsEnabled reports whether the reminders are posted; unset means they are.
func (w Windows) IsEnabled() bool { return enabled(w.Enabled) }

// DurationMap returns Durations parsed, leaving out invalid entries, which
// Validate reports.
func (w Windows) DurationMap() map[string]time.Duration {
	out := map[string]time.Duration{}
	for id, text := range w.Durations {
		if d, err := time.ParseDuration(text); err == nil && d >= 0 {
			out[id] = d
		}
	}
	return out
}

// Switch turns one schedule on or off.
type Switch struct {
	// Enabled is true unless set to false.
	Enabled *bool `json:"enabled"`
}

// IsEnabled reports whether the schedule runs; unset means it does.
func (s Switch) IsEnabled() bool { return enabled(s.Enabled) }

// InventoryAudit configures the project-inventory audit.
type InventoryAudit struct {
	Enabled *bool `json:"enabled"`
	// Every is the audit's period. Empty takes the period of the Review
	// Cadence line that calls for the audit, or monthly without one.
	Every string `json:"every"`
	// InactiveDays is how many days a project may go without an MLflow run
	// before the audit lists it; 30 by default.
	InactiveDays int `json:"inactiveDays"`
}

// IsEnabled reports whether the audit runs; unset means it does.
func (a InventoryAudit) IsEnabled() bool { return enabled(a.Enabled) }

// ModelAudit configures the orphaned-model audit.
type ModelAudit struct {
	Enabled *bool `json:"enabled"`
	// Every is the audit's period. Empty takes the period of the Review
	// Cadence line that calls for the audit, or quarterly without one.
	Every string `json:"every"`
	// StaleDays is how many days a registered model with no production
	// version and no alias may go without a new version before the audit
	// lists it; 90 by default.
	StaleDays int `json:"staleDays"`
}

// IsEnabled reports whether the audit runs; unset means it does.
func (a ModelAudit) IsEnabled() bool { return enabled(a.Enabled) }

// SecretRotationCheck configures the check of the secrets' due dates.
type SecretRotationCheck struct {
	Enabled *bool `json:"enabled"`
	// Every is the check's period; "daily" by default.
	Every string `json:"every"`
}

// IsEnabled reports whether the check runs; unset means it does.
func (c SecretRotationCheck) IsEnabled() bool { return enabled(c.Enabled) }

func enabled(flag *bool) bool { return flag == nil || *flag }

// TickInterval returns Tick, or one minute.
func (s Schedules) TickInterval() time.Duration { return durationOr(s.Tick, time.Minute) }

// PeriodUnit is the calendar unit of a Period.
type PeriodUnit string

// Period units.
const (
	UnitDay   PeriodUnit = "day"
	UnitWeek  PeriodUnit = "week"
	UnitMonth PeriodUnit = "month"
)

// Period is a calendar period: Count days, weeks (from Monday) or months.
// Months count from January, so a quarter starts in January, April, July
// or October.
type Period struct {
	Unit  PeriodUnit
	Count int
}

// namedPeriods are the single words ParsePeriod accepts.
var namedPeriods = map[string]Period{
	"daily":     {UnitDay, 1},
	"weekly":    {UnitWeek, 1},
	"monthly":   {UnitMonth, 1},
	"quarterly": {UnitMonth, 3},
	"annually":  {UnitMonth, 12},
	"yearly":    {UnitMonth, 12},
}

// everyPeriod matches "every N days", "every week" and the like.
var everyPeriod = regexp.MustCompile(`^every (?:(\d+) )?(day|week|month|quarter|year)s?$`)

// ParsePeriod parses a period: daily, weekly, monthly, quarterly,
// annually (or yearly), or "every N days|weeks|months|quarters|years".
// Case and surrounding space are ignored.
func ParsePeriod(text string) (Period, error) {
	s := strings.Join(strings.Fields(strings.ToLower(text)), " ")
	if p, ok := namedPeriods[s]; ok {
		return p, nil
	}
	m := everyPeriod.FindStringSubmatch(s)
	if m == nil {
		return Period{}, fmt.Errorf("%q is not a period: use daily, weekly, monthly, quarterly, annually or \"every N days\"", text)
	}
	count := 1
	if m[1] != "" {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 || n > 3660 {
			return Period{}, fmt.Errorf("%q is not a period: N must be between 1 and 3660", text)
		}
		count = n
	}
	switch m[2] {
	case "day":
		return Period{UnitDay, count}, nil
	case "week":
		return Period{UnitWeek, count}, nil
	case "quarter":
		count *= 3
	case "year":
		count *= 12
	}
	if count > 120 {
		return Period{}, fmt.Errorf("%q is not a period: use at most 10 years", text)
	}
	return Period{UnitMonth, count}, nil
}

func (c *Config) applyScheduleDefaults() {
	s := &c.Schedules
	setDefault(&s.Tick, "1m")
	setDefault(&s.SecretRotation.Every, "daily")
	if s.InventoryAudit.InactiveDays == 0 {
		s.InventoryAudit.InactiveDays = 30
	}
	if s.ModelAudit.StaleDays == 0 {
		s.ModelAudit.StaleDays = 90
	}
}

func (c Config) validateSchedules() []string {
	s := c.Schedules
	var problems []string
	if s.Tick != "" {
		if d, err := time.ParseDuration(s.Tick); err != nil || d < time.Second || d > time.Hour {
			problems = append(problems, fmt.Sprintf("schedules.tick %q is not a Go duration between 1s and 1h, such as 1m", s.Tick))
		}
	}
	for setting, value := range map[string]string{
		"schedules.inventoryAudit.every": s.InventoryAudit.Every, "schedules.modelAudit.every": s.ModelAudit.Every,
		"schedules.secretRotation.every": s.SecretRotation.Every,
	} {
		if value == "" {
			continue
		}
		if _, err := ParsePeriod(value); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", setting, err))
		}
	}
	for id, text := range s.Windows.Durations {
		if !kindName.MatchString(id) {
			problems = append(problems, fmt.Sprintf("schedules.windows.durations: %q is not a window id such as sop-02-monitoring", id))
		}
		if d, err := time.ParseDuration(text); err != nil || d < 0 {
			problems = append(problems, fmt.Sprintf("schedules.windows.durations[%q] %q is not a Go duration such as 24h, or 0s for no window", id, text))
		}
	}
	if s.InventoryAudit.InactiveDays < 0 {
		problems = append(problems, fmt.Sprintf("schedules.inventoryAudit.inactiveDays %d is negative: use a number of days, such as 30", s.InventoryAudit.InactiveDays))
	}
	if s.ModelAudit.StaleDays < 0 {
		problems = append(problems, fmt.Sprintf("schedules.modelAudit.staleDays %d is negative: use a number of days, such as 90", s.ModelAudit.StaleDays))
	}
	return problems
}
