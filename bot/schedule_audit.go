package bot

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// RunSearcher is the part of MLflow's tracking API the inventory audit
// calls. *mlflow.Client implements it.
type RunSearcher interface {
	SearchRuns(ctx context.Context, req mlflow.SearchRunsRequest) ([]mlflow.Run, error)
	// ExperimentURL returns the web UI address of an experiment.
	ExperimentURL(experimentID string) string
}

// ModelSearcher is the part of MLflow's model registry the model audit
// calls.
type ModelSearcher interface {
	// SearchRegisteredModels returns every registered model with its
	// latest versions and aliases.
	SearchRegisteredModels(ctx context.Context) ([]mlflow.RegisteredModel, error)
	SearchModelVersions(ctx context.Context, name string) ([]mlflow.ModelVersion, error)
	ModelURL(name, version string) string
}

// projectFinding is the inventory audit's result for one project.
type projectFinding struct {
	project store.Project
	lastRun time.Time
	// problem is why the project could not be checked, or empty when it
	// was checked.
	problem  string
	inactive bool
}

// inventoryAudit finds each project's newest MLflow run, records it in
// the inventory, and opens the review issue with the inactive projects.
func (w *Workers) inventoryAudit(ctx context.Context, job *river.Job[InventoryAuditArgs]) error {
	def, err := w.scheduled(job.Kind, job.Args.ScheduledRun)
	if err != nil {
		return err
	}
	s := w.Scheduler
	attrs := []any{"schedule", def.name, "period", job.Args.Period}
	if s.Runs == nil {
		w.Log.Error("inventory audit cancelled: the MLflow client cannot search runs", attrs...)
		return river.JobCancel(fmt.Errorf("inventory audit: the MLflow client cannot search runs"))
	}

	projects, err := w.Engine.DB.Projects(ctx, w.Engine.DB.SQL)
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	now := s.now()
	inactiveDays := s.settings.Schedules.InventoryAudit.InactiveDays
	findings := make([]projectFinding, 0, len(projects))
	for _, p := range projects {
		f, err := s.auditProject(ctx, p, now.AddDate(0, 0, -inactiveDays))
		if err != nil {
			return w.outcome(job.Kind, append(attrs, "project", p.Name), err)
		}
		findings = append(findings, f)
	}
	if err := w.recordActivity(ctx, findings); err != nil {
		return w.outcome(job.Kind, attrs, err)
	}

	report, inactive, unchecked := s.inventoryReport(findings, now, inactiveDays)
	w.Log.Info("inventory audit finished", append(attrs, "projects", len(findings), "inactive", len(inactive), "unchecked", unchecked)...)
	content := reviewContent{report: report, checklist: []string{
		"Ask the owning team of each inactive project whether it is still in use",
		"Offboard each project that no team needs, or record in a comment why it stays",
		"Record the MLflow experiment of each project that has none, or offboard it",
		"Close this issue once each listed project has a decision",
	}}
	content.notice = fmt.Sprintf("Project inventory audit (%s): %d of %d projects had no MLflow run in %d days",
		def.period.label(job.Args.Start), len(inactive), len(findings), inactiveDays)
	if len(inactive) > 0 {
		content.notice += ": " + strings.Join(inactive, ", ")
	}
	_, err = w.openReviewIssue(ctx, job.Kind, def, job.Args.ScheduledRun, content)
	return err
}

// recordActivity stores the newest run of each project that was checked.
func (w *Workers) recordActivity(ctx context.Context, findings []projectFinding) error {
	return w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		for _, f := range findings {
			if f.problem != "" {
				continue
			}
			if err := w.Engine.DB.SetProjectActivity(ctx, tx, f.project.Name, f.lastRun); err != nil {
				return err
			}
		}
		return nil
	})
}

// auditProject finds a project's newest MLflow run. It returns an error
// only for a failure worth a retry. A project that cannot be checked for
// good gets a problem instead.
func (s *Scheduler) auditProject(ctx context.Context, p store.Project, cutoff time.Time) (projectFinding, error) {
	f := projectFinding{project: p}
	if p.ExperimentID == "" {
		f.problem = "no MLflow experiment recorded"
		return f, nil
	}
	runs, err := s.Runs.SearchRuns(ctx, mlflow.SearchRunsRequest{
		ExperimentIDs: []string{p.ExperimentID}, MaxResults: 1, OrderBy: []string{"attributes.start_time DESC"},
	})
	if err != nil {
		if !mlflow.IsPermanent(err) {
			return f, err
		}
		s.Log.Warn("inventory audit could not check a project", "project", p.Name, "experiment_id", p.ExperimentID, "error", err)
		f.problem = "search failed: " + clip(err.Error(), 200)
		return f, nil
	}
	if len(runs) > 0 {
		f.lastRun = runTime(runs[0])
	}
	f.inactive = f.lastRun.Before(cutoff)
	return f, nil
}

// runTime is the newer of a run's start and end, so a long run that is
// still logging counts as activity.
func runTime(r mlflow.Run) time.Time {
	ms := max(r.StartTime, r.EndTime)
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// inventoryReport renders the findings as a table, inactive projects
// first, and returns the names of the inactive ones and the number that
// could not be checked.
func (s *Scheduler) inventoryReport(findings []projectFinding, now time.Time, inactiveDays int) (string, []string, int) {
	rank := func(f projectFinding) int {
		switch {
		case f.problem != "":
			return 1
		case f.inactive:
			return 0
		}
		return 2
	}
	sort.SliceStable(findings, func(i, j int) bool { return rank(findings[i]) < rank(findings[j]) })

	var b strings.Builder
	fmt.Fprintf(&b, "### Findings\n\nsopbot searched MLflow for the newest run of each project's experiment on %s. "+
		"A project is inactive when its newest run is more than %d days old (`schedules.inventoryAudit.inactiveDays`).\n\n",
		now.Format("2006-01-02 15:04 UTC"), inactiveDays)
	if len(findings) == 0 {
		b.WriteString("The project inventory is empty: no project has been onboarded through SOP-01.\n")
		return b.String(), nil, 0
	}

	var inactive []string
	unchecked := 0
	var table strings.Builder
	table.WriteString("| project | team | cost center | namespace | experiment | newest run | finding |\n")
	table.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, f := range findings {
		switch {
		case f.problem != "":
			unchecked++
		case f.inactive:
			inactive = append(inactive, f.project.Name)
		}
		table.WriteString(s.projectRow(f, now))
	}
	fmt.Fprintf(&b, "**%d of %d projects are inactive.**", len(inactive), len(findings))
	if unchecked > 0 {
		fmt.Fprintf(&b, " %d could not be checked.", unchecked)
	}
	b.WriteString("\n\n" + table.String())
	return b.String(), inactive, unchecked
}

// projectRow renders one project's row of the inventory report.
func (s *Scheduler) projectRow(f projectFinding, now time.Time) string {
	p := f.project
	experiment := "none"
	if p.ExperimentID != "" {
		experiment = fmt.Sprintf("[%s](%s)", p.ExperimentID, s.Runs.ExperimentURL(p.ExperimentID))
	}
	newest, finding := "–", "active"
	switch {
	case f.problem != "":
		finding = "not checked: " + tableCell(f.problem)
	case f.lastRun.IsZero():
		newest, finding = "no runs", "**inactive**"
	default:
		newest = fmt.Sprintf("%s (%s)", f.lastRun.Format(time.DateOnly), daysAgo(now, f.lastRun))
		if f.inactive {
			finding = "**inactive**"
		}
	}
	return fmt.Sprintf("| `%s` | %s | %s | `%s` | %s | %s | %s |\n", p.Name, tableCell(p.Team), tableCell(p.CostCenter), p.Namespace, experiment, newest, finding)
}

// modelFinding is the model audit's result for one registered model.
type modelFinding struct {
	name   string
	newest mlflow.ModelVersion
	// stages counts the model's latest versions by stage.
	stages   map[string][]string
	orphaned bool
}

// modelAudit lists the registered models that look orphaned in the review
// issue of the model registry line.
func (w *Workers) modelAudit(ctx context.Context, job *river.Job[ModelAuditArgs]) error {
	def, err := w.scheduled(job.Kind, job.Args.ScheduledRun)
	if err != nil {
		return err
	}
	s := w.Scheduler
	attrs := []any{"schedule", def.name, "period", job.Args.Period}
	if s.Models == nil {
		w.Log.Error("model audit cancelled: the MLflow client cannot search registered models", attrs...)
		return river.JobCancel(fmt.Errorf("model audit: the MLflow client cannot search registered models"))
	}

	models, err := s.Models.SearchRegisteredModels(ctx)
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	now := s.now()
	staleDays := s.settings.Schedules.ModelAudit.StaleDays
	var orphaned []modelFinding
	var names []string
	for _, m := range models {
		f, err := s.auditModel(ctx, m, now.AddDate(0, 0, -staleDays))
		if err != nil {
			return w.outcome(job.Kind, append(attrs, "model", m.Name), err)
		}
		if f.orphaned {
			orphaned = append(orphaned, f)
			names = append(names, f.name)
		}
	}

	w.Log.Info("model audit finished", append(attrs, "models", len(models), "orphaned", len(orphaned))...)
	content := reviewContent{report: s.modelReport(orphaned, len(models), now, staleDays), checklist: []string{
		"Ask the owner of each orphaned model whether it is still needed",
		"Archive or delete each model that no one needs, or promote or alias the ones in use",
		"Record the decision for each listed model in a comment, then close this issue",
	}}
	if s.settings.MLflowUIURL != "" {
		content.links = []string{fmt.Sprintf("[MLflow model registry](%s/#/models)", strings.TrimSuffix(s.settings.MLflowUIURL, "/"))}
	}
	content.notice = fmt.Sprintf("Model registry audit (%s): %d of %d registered models look orphaned",
		def.period.label(job.Args.Start), len(orphaned), len(models))
	if len(names) > 0 {
		content.notice += ": " + strings.Join(names, ", ")
	}
	_, err = w.openReviewIssue(ctx, job.Kind, def, job.Args.ScheduledRun, content)
	return err
}

// auditModel decides whether a registered model is orphaned: no version
// in Production, no alias, and no version registered since cutoff. The
// latest version of each stage includes the newest version of all, so the
// versions are searched only when the registry returns no latest versions.
func (s *Scheduler) auditModel(ctx context.Context, m mlflow.RegisteredModel, cutoff time.Time) (modelFinding, error) {
	f := modelFinding{name: m.Name, stages: map[string][]string{}}
	versions := m.LatestVersions
	if len(versions) == 0 {
		var err error
		if versions, err = s.Models.SearchModelVersions(ctx, m.Name); err != nil {
			return f, fmt.Errorf("listing versions of %s: %w", m.Name, err)
		}
	}
	aliased := len(m.Aliases) > 0
	production := false
	for _, v := range versions {
		stage := stageName(v.CurrentStage)
		f.stages[stage] = append(f.stages[stage], "v"+v.Version)
		production = production || stage == mlflow.StageProduction
		aliased = aliased || len(v.Aliases) > 0
		if newerVersion(v, f.newest) {
			f.newest = v
		}
	}
	registered := time.UnixMilli(f.newest.CreationTimestamp)
	f.orphaned = !production && !aliased && (f.newest.Version == "" || registered.Before(cutoff))
	return f, nil
}

// newerVersion reports whether a was registered after b, or at the same
// time with a higher version number.
func newerVersion(a, b mlflow.ModelVersion) bool {
	if a.CreationTimestamp != b.CreationTimestamp {
		return a.CreationTimestamp > b.CreationTimestamp
	}
	an, _ := strconv.Atoi(a.Version)
	bn, _ := strconv.Atoi(b.Version)
	return an > bn
}

// modelReport renders the orphaned models as a table.
func (s *Scheduler) modelReport(orphaned []modelFinding, total int, now time.Time, staleDays int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Findings\n\nsopbot searched the MLflow model registry on %s. A registered model looks orphaned when no version is in "+
		"Production, no alias points at any version, and its newest version was registered more than %d days ago (`schedules.modelAudit.staleDays`).\n\n",
		now.Format("2006-01-02 15:04 UTC"), staleDays)
	fmt.Fprintf(&b, "**%d of %d registered models look orphaned.**\n", len(orphaned), total)
	if len(orphaned) == 0 {
		return b.String()
	}
	b.WriteString("\n| model | versions by stage | newest version | registered |\n| --- | --- | --- | --- |\n")
	for _, f := range orphaned {
		var stages []string
		for _, stage := range sortedKeys(f.stages) {
			stages = append(stages, stage+": "+strings.Join(f.stages[stage], ", "))
		}
		newest, registered := "no versions", "–"
		if f.newest.Version != "" {
			newest = fmt.Sprintf("[v%s](%s)", f.newest.Version, s.Models.ModelURL(f.name, f.newest.Version))
			at := time.UnixMilli(f.newest.CreationTimestamp).UTC()
			registered = fmt.Sprintf("%s (%s)", at.Format(time.DateOnly), daysAgo(now, at))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.name, tableCell(strings.Join(stages, "; ")), newest, registered)
	}
	return b.String()
}

// daysAgo formats the whole days from t to now, such as "3 days ago".
func daysAgo(now, t time.Time) string {
	days := int(now.Sub(t).Hours() / 24)
	if days == 1 {
		return "1 day ago"
	}
	return fmt.Sprintf("%d days ago", days)
}

// tableCell makes a value safe for one Markdown table cell.
func tableCell(s string) string {
	if s == "" {
		return "–"
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
