package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/sopbot/sopbot/bot/store"
)

// inventoryRows is the most rows a chat reply lists; the CLI exports all.
const inventoryRows = 40

func (e *Engine) inventoryCommand(t *txn, c CommandIssued) error {
	projects, err := e.DB.Projects(t.ctx, t.tx)
	if err != nil {
		return err
	}
	return e.reply(t, c.Origin, InventoryText(projects), true)
}

// InventoryText renders the project inventory for a chat reply.
func InventoryText(projects []store.Project) string {
	if len(projects) == 0 {
		return "The project inventory is empty. `/mlops onboard project <project> --team <team> --cost-center <cost-center>` adds a project."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Project inventory* (%s)\n", countOf(len(projects), "project"))
	for i, p := range projects {
		if i == inventoryRows {
			fmt.Fprintf(&b, "… and %d more.\n", len(projects)-i)
			break
		}
		fmt.Fprintf(&b, "• `%s`: team `%s`, cost center `%s`, namespace `%s`", p.Name, p.Team, p.CostCenter, p.Namespace)
		if p.ExperimentID != "" {
			fmt.Fprintf(&b, ", experiment %s", p.ExperimentID)
		}
		fmt.Fprintf(&b, ", onboarded %s by R-%d", p.OnboardedAt.Format(time.DateOnly), p.RequestID)
		if !p.LastRunAt.IsZero() {
			fmt.Fprintf(&b, ", last MLflow run %s", p.LastRunAt.Format(time.DateOnly))
		}
		b.WriteString("\n")
	}
	b.WriteString("Export every column as CSV with `sopbot inventory export --format csv`.")
	return b.String()
}

func (e *Engine) secretsCommand(t *txn, c CommandIssued) error {
	secrets, err := e.DB.Secrets(t.ctx, t.tx)
	if err != nil {
		return err
	}
	return e.reply(t, c.Origin, SecretsText(secrets, e.Settings.SecretMaxAge, e.DB.Now()), true)
}

// SecretDue returns when a secret is due for rotation under maxAge (days
// by kind), or false when its kind has no period or it was never rotated.
func SecretDue(s store.Secret, maxAge func(kind string) int) (time.Time, bool) {
	days := 0
	if maxAge != nil {
		days = maxAge(s.Kind)
	}
	if days <= 0 || s.LastRotated.IsZero() {
		return time.Time{}, false
	}
	return s.LastRotated.AddDate(0, 0, days), true
}

// SecretsText renders the secret inventory for a chat reply: names,
// places, kinds and rotation dates, never a value.
func SecretsText(secrets []store.Secret, maxAge func(kind string) int, now time.Time) string {
	if len(secrets) == 0 {
		return "The secret inventory is empty. List the secrets under `rotation.secrets` in the sopbot config."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Secret inventory* (%s)\n", countOf(len(secrets), "secret"))
	for i, s := range secrets {
		if i == inventoryRows {
			fmt.Fprintf(&b, "… and %d more.\n", len(secrets)-i)
			break
		}
		fmt.Fprintf(&b, "• `%s/%s` (%s)", s.Namespace, s.Name, s.Kind)
		if s.Current != "" && s.Current != s.Name {
			fmt.Fprintf(&b, ", held by `%s`", s.Current)
		}
		if s.Service != "" || s.Deployment != "" {
			fmt.Fprintf(&b, ", used by %s", strings.Trim(s.Service+" "+s.Deployment, " "))
		}
		switch due, ok := SecretDue(s, maxAge); {
		case s.LastRotated.IsZero():
			b.WriteString(", never rotated by sopbot")
		case !ok:
			fmt.Fprintf(&b, ", rotated %s, no rotation period for its kind", s.LastRotated.Format(time.DateOnly))
		case due.Before(now):
			fmt.Fprintf(&b, ", rotated %s, *overdue since %s*", s.LastRotated.Format(time.DateOnly), due.Format(time.DateOnly))
		default:
			fmt.Fprintf(&b, ", rotated %s, due %s", s.LastRotated.Format(time.DateOnly), due.Format(time.DateOnly))
		}
		if s.LastRequest != 0 {
			fmt.Fprintf(&b, " (R-%d)", s.LastRequest)
		}
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// countOf returns "1 project" or "n projects" for a noun whose plural adds
// an s.
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
