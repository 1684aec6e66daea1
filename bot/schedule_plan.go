package bot

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/sop"
)

// Names of the schedules that are not review issues.
const (
	scheduleInventoryAudit = "inventory-audit"
	scheduleModelAudit     = "model-audit"
	scheduleSecretRotation = "secret-rotation"
)

// scheduleDef is one planned recurring schedule.
type scheduleDef struct {
	// name is the schedule's row in the schedules table, such as
	// "review:SOP-02:approval-process" or "inventory-audit".
	name   string
	period period
	// topic is the subject of the schedule's issue. It is nil for the
	// secret rotation check, which opens requests instead of an issue.
	topic *reviewTopic
	job   func(ScheduledRun) river.JobArgs
}

// reviewTopic is the subject of a review issue: a Review Cadence line, or
// an audit that no line calls for.
type reviewTopic struct {
	// SOPID is the SOP whose line it is, or "sopbot" for an audit that no
	// line calls for.
	SOPID    string
	SOPTitle string
	// Line is the Review Cadence line as written, or empty for an audit
	// that no line calls for.
	Line string
	// Subject is the line without its period, such as "Review the approval
	// process".
	Subject string
	// Slug names the topic in markers, such as "approval-process".
	Slug string
	// Revision is the SOP's revision when the plan was made.
	Revision string
}

// schedulePlan is every schedule the library and the configuration ask
// for, and the Review Cadence lines that schedule nothing.
type schedulePlan struct {
	schedules []scheduleDef
	// unscheduled lists the lines with no period, as "SOP-04: <line>".
	unscheduled []string
	// carriedOut lists the lines an audit or the rotation check carries
	// out instead of a review issue, as "SOP-01: <line> → inventory-audit".
	carriedOut []string
}

func (p schedulePlan) byName(name string) (scheduleDef, bool) {
	for _, def := range p.schedules {
		if def.name == name {
			return def, true
		}
	}
	return scheduleDef{}, false
}

// cadenceLine is one Review Cadence line with its period found.
type cadenceLine struct {
	sop       *sop.SOP
	text      string
	subject   string
	period    period
	hasPeriod bool
}

// periodPhrase finds a period inside a sentence, and config.ParsePeriod
// then reads the phrase.
var periodPhrase = regexp.MustCompile(`(?i)\b(daily|weekly|monthly|quarterly|annually|yearly|every\s+(?:\d+\s+)?(?:day|week|month|quarter|year)s?)\b`)

// parseCadenceLine finds the period of a line such as "Audit the model
// registry quarterly for orphaned models" and the subject left without it.
func parseCadenceLine(s *sop.SOP, text string) cadenceLine {
	line := cadenceLine{sop: s, text: text, subject: text}
	loc := periodPhrase.FindStringIndex(text)
	if loc == nil {
		return line
	}
	p, err := config.ParsePeriod(text[loc[0]:loc[1]])
	if err != nil {
		return line
	}
	line.period, line.hasPeriod = period{p}, true
	line.subject = strings.Join(strings.Fields(text[:loc[0]]+" "+text[loc[1]:]), " ")
	return line
}

// carrier returns the bot job that carries out a line itself, if the line
// calls for one: the project inventory audit, the model registry audit, or
// the rotation of secrets.
func carrier(line string) string {
	lower := strings.ToLower(line)
	switch {
	case strings.Contains(lower, "project inventory"):
		return scheduleInventoryAudit
	case strings.Contains(lower, "model registry"):
		return scheduleModelAudit
	case strings.HasPrefix(lower, "rotate "):
		return scheduleSecretRotation
	}
	return ""
}

// planSchedules plans a review issue for each Review Cadence line with a
// period, and the enabled audits and checks. A line that an enabled job
// carries out gets no review issue of its own: the audit's issue is its
// review, and the rotation check's requests are its rotations. The first
// such line also lends the audit its period unless the config sets one.
func planSchedules(sops []*sop.SOP, cfg config.Schedules, canSearchRuns, canSearchModels bool) schedulePlan {
	enabled := map[string]bool{
		scheduleInventoryAudit: cfg.InventoryAudit.IsEnabled() && canSearchRuns,
		scheduleModelAudit:     cfg.ModelAudit.IsEnabled() && canSearchModels,
		scheduleSecretRotation: cfg.SecretRotation.IsEnabled(),
	}
	var plan schedulePlan
	claimed := map[string]cadenceLine{}
	for _, s := range sops {
		slugs := map[string]int{}
		for _, text := range s.ReviewCadence {
			line := parseCadenceLine(s, text)
			if !line.hasPeriod {
				plan.unscheduled = append(plan.unscheduled, s.ID+": "+text)
				continue
			}
			if job := carrier(text); enabled[job] {
				plan.carriedOut = append(plan.carriedOut, fmt.Sprintf("%s: %s → %s", s.ID, text, job))
				if _, ok := claimed[job]; !ok {
					claimed[job] = line
				}
				continue
			}
			if !cfg.Reviews.IsEnabled() {
				continue
			}
			topic := line.topic(slugs)
			plan.schedules = append(plan.schedules, scheduleDef{
				name: "review:" + s.ID + ":" + topic.Slug, period: line.period, topic: &topic,
				job: func(run ScheduledRun) river.JobArgs { return ReviewIssueArgs{run} },
			})
		}
	}
	if enabled[scheduleInventoryAudit] {
		topic, p := auditTopic(claimed, scheduleInventoryAudit, cfg.InventoryAudit.Every, "monthly", "Audit the project inventory for inactive projects")
		plan.schedules = append(plan.schedules, scheduleDef{name: scheduleInventoryAudit, period: p, topic: &topic,
			job: func(run ScheduledRun) river.JobArgs { return InventoryAuditArgs{run} }})
	}
	if enabled[scheduleModelAudit] {
		topic, p := auditTopic(claimed, scheduleModelAudit, cfg.ModelAudit.Every, "quarterly", "Audit the model registry for orphaned models")
		plan.schedules = append(plan.schedules, scheduleDef{name: scheduleModelAudit, period: p, topic: &topic,
			job: func(run ScheduledRun) river.JobArgs { return ModelAuditArgs{run} }})
	}
	if enabled[scheduleSecretRotation] {
		p := mustPeriod(cfg.SecretRotation.Every, "daily")
		plan.schedules = append(plan.schedules, scheduleDef{name: scheduleSecretRotation, period: p,
			job: func(run ScheduledRun) river.JobArgs { return SecretRotationArgs{run} }})
	}
	return plan
}

// auditTopic returns the review topic and period of an audit: those of the
// line that calls for it, or the fallback subject and period without one.
// A configured period wins over the line's.
func auditTopic(claimed map[string]cadenceLine, job, every, fallback, subject string) (reviewTopic, period) {
	line, ok := claimed[job]
	var topic reviewTopic
	p := mustPeriod(fallback, fallback)
	if ok {
		topic = line.topic(map[string]int{})
		p = line.period
	} else {
		topic = reviewTopic{SOPID: "sopbot", SOPTitle: "sopbot", Subject: subject, Slug: job}
	}
	if every != "" {
		p = mustPeriod(every, fallback)
	}
	return topic, p
}

// mustPeriod parses a validated period, falling back to fallback, which
// must parse.
func mustPeriod(text, fallback string) period {
	if p, err := config.ParsePeriod(text); err == nil {
		return period{p}
	}
	p, err := config.ParsePeriod(fallback)
	if err != nil {
		panic(fmt.Sprintf("invalid fallback period %q: %v", fallback, err))
	}
	return period{p}
}

// topic makes the line's review topic. slugs counts the slugs already
// given in the same SOP, so two lines never share one.
func (l cadenceLine) topic(slugs map[string]int) reviewTopic {
	slug := cadenceSlug(l.subject)
	slugs[slug]++
	if n := slugs[slug]; n > 1 {
		slug = fmt.Sprintf("%s-%d", slug, n)
	}
	return reviewTopic{SOPID: l.sop.ID, SOPTitle: l.sop.Title, Line: l.text, Subject: l.subject, Slug: slug, Revision: l.sop.Revision}
}

// maxSlugWords bounds the words of a slug, so a long line keeps a short
// marker.
const maxSlugWords = 8

// cadenceSlug names a line's subject in markers: its words in lower case
// without the leading verb and without articles, so "Review the approval
// process" becomes "approval-process".
func cadenceSlug(subject string) string {
	words := strings.FieldsFunc(strings.ToLower(subject), func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	var kept []string
	for i, word := range words {
		if (i == 0 && len(words) > 1) || word == "the" || word == "a" || word == "an" {
			continue
		}
		kept = append(kept, word)
		if len(kept) == maxSlugWords {
			break
		}
	}
	if len(kept) == 0 {
		return "review"
	}
	return strings.Join(kept, "-")
}

// LogPlan logs the planned schedules, the Review Cadence lines that a job
// carries out, and the lines that schedule nothing because they name no
// period.
func (s *Scheduler) LogPlan() {
	for _, def := range s.plan.schedules {
		s.Log.Info("schedule planned", "schedule", def.name, "period", def.period.String())
	}
	if len(s.plan.carriedOut) > 0 {
		s.Log.Info("review cadence lines carried out by the bot's own jobs", "lines", s.plan.carriedOut)
	}
	if len(s.plan.unscheduled) > 0 {
		s.Log.Info("review cadence lines name no period and schedule nothing", "lines", s.plan.unscheduled)
	}
	cfg := s.settings.Schedules
	if cfg.InventoryAudit.IsEnabled() && s.Runs == nil {
		s.Log.Warn("inventory audit is off: the MLflow client cannot search runs")
	}
	if cfg.ModelAudit.IsEnabled() && s.Models == nil {
		s.Log.Warn("model audit is off: the MLflow client cannot search registered models")
	}
}
