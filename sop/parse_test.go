package sop

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const userDoc = "testdata/sop/mlops-sops.md"

// parseUserDoc parses the users' sample document under its repository path.
func parseUserDoc(t *testing.T) *Document {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", userDoc))
	require.NoError(t, err)
	doc, err := Parse(userDoc, src)
	require.NoError(t, err)
	require.Len(t, doc.SOPs, 4)
	return doc
}

func TestParseUserDocHeadings(t *testing.T) {
	doc := parseUserDoc(t)
	want := []struct {
		id, title string
		line      int
	}{
		{"SOP-01", "Onboarding a New ML Project to Kubeflow/MLflow/Feast", 3},
		{"SOP-02", "Model Approval and Promotion Workflow", 75},
		{"SOP-03", "Periodic Retraining and Drift Review", 142},
		{"SOP-04", "Secret and Credential Rotation for ML Services", 207},
	}
	for i, w := range want {
		t.Run(w.id, func(t *testing.T) {
			s := doc.SOPs[i]
			assert.Equal(t, w.id, s.ID)
			assert.Equal(t, w.title, s.Title)
			assert.Equal(t, w.line, s.Line)
			assert.Equal(t, w.line, s.Fields[FieldID])
			assert.Equal(t, w.line, s.Fields[FieldTitle])
			assert.Equal(t, userDoc, s.Path)
			assert.Len(t, s.Revision, 64)
		})
	}
	assert.Contains(t, doc.SOPs[0].Source, "## SOP-01: Onboarding")
	assert.NotContains(t, doc.SOPs[0].Source, "## SOP-02")
	assert.NotContains(t, doc.SOPs[3].Source, "SOP Appendix")
}

func TestParseUserDocRoles(t *testing.T) {
	doc := parseUserDoc(t)
	want := map[string][]Role{
		"SOP-01": {
			{Title: "Requestor", Who: "Data scientist or ML engineer proposing new project", Members: []string{"Data scientist", "ML engineer proposing new project"}, Join: JoinAny, Line: 9},
			{Title: "Reviewer", Who: "ML platform engineer", Members: []string{"ML platform engineer"}, Join: JoinSingle, Line: 10},
			{Title: "Approver", Who: "ML platform lead and security officer", Members: []string{"ML platform lead", "security officer"}, Join: JoinAll, Line: 11},
		},
		"SOP-02": {
			{Title: "Submitter", Who: "Data scientist or ML engineer", Members: []string{"Data scientist", "ML engineer"}, Join: JoinAny, Line: 81},
			{Title: "Reviewer", Who: "ML platform engineer and senior data scientist", Members: []string{"ML platform engineer", "senior data scientist"}, Join: JoinAll, Line: 82},
			{Title: "Approver", Who: "ML lead and compliance officer", Members: []string{"ML lead", "compliance officer"}, Join: JoinAll, Line: 83},
		},
		"SOP-03": {
			{Title: "System", Who: "Automated scheduler (cron/Argo Events)", Members: []string{"Automated scheduler"}, Note: "cron/Argo Events", Join: JoinSingle, Line: 148},
			{Title: "Reviewer", Who: "ML engineer on-call", Members: []string{"ML engineer on-call"}, Join: JoinSingle, Line: 149},
			{Title: "Approver", Who: "ML lead (for major model changes)", Members: []string{"ML lead"}, Note: "for major model changes", Join: JoinSingle, Line: 150},
		},
		"SOP-04": {
			{Title: "Executor", Who: "Platform engineer or SRE", Members: []string{"Platform engineer", "SRE"}, Join: JoinAny, Line: 213},
			{Title: "Reviewer", Who: "Security engineer", Members: []string{"Security engineer"}, Join: JoinSingle, Line: 214},
			{Title: "Approver", Who: "Security lead", Members: []string{"Security lead"}, Join: JoinSingle, Line: 215},
		},
	}
	for _, s := range doc.SOPs {
		t.Run(s.ID, func(t *testing.T) {
			assert.Equal(t, want[s.ID], s.Roles)
		})
	}
}

func TestParseUserDocPreconditions(t *testing.T) {
	doc := parseUserDoc(t)
	want := map[string][]string{
		"SOP-01": {"Project proposal approved with business case", "Data sources identified and access granted", "Compute/storage budget allocated", "Namespace and resource quotas defined"},
		"SOP-02": {`Model registered in MLflow with "None" or "Staging" stage`, "Evaluation metrics meet baseline thresholds", "Model card and documentation completed"},
		"SOP-03": {"Drift detection thresholds configured", "Retraining pipeline tested and validated", "Monitoring dashboards operational"},
		"SOP-04": {"Secret inventory documented (secret name, location, owning service)", "Rotation procedure tested in staging", "Downtime window approved (if required)"},
	}
	for _, s := range doc.SOPs {
		t.Run(s.ID, func(t *testing.T) {
			require.Len(t, s.Preconditions, len(want[s.ID]))
			for i, it := range s.Preconditions {
				assert.Equal(t, want[s.ID][i], it.Text)
				assert.Equal(t, "pre-"+string(rune('1'+i)), it.Key)
				assert.False(t, it.Checked)
			}
		})
	}
	assert.Equal(t, 86, doc.SOPs[1].Preconditions[0].Line)
}

func TestParseUserDocSteps(t *testing.T) {
	doc := parseUserDoc(t)
	type stepWant struct {
		title string
		mode  Mode
		items int
		line  int
	}
	want := map[string][]stepWant{
		"SOP-01": {{"Create Namespace and RBAC", ModeUnmarked, 0, 21}, {"Provision MLflow Experiment", ModeUnmarked, 0, 28},
			{"Define Features in Feast", ModeUnmarked, 0, 34}, {"Create Kubeflow Pipeline Template", ModeUnmarked, 0, 43},
			{"Configure CI/CD", ModeUnmarked, 0, 48}, {"Run Initial Training", ModeUnmarked, 0, 53}, {"Documentation & Handoff", ModeUnmarked, 0, 58}},
		"SOP-02": {{"Submit Promotion Request", ModeUnmarked, 0, 92}, {"Technical Review", ModeUnmarked, 5, 101},
			{"Compliance Review", ModeUnmarked, 4, 108}, {"Approval Decision", ModeUnmarked, 0, 114}, {"Deployment", ModeUnmarked, 0, 124}},
		"SOP-03": {{"Drift Detection", ModeAutomated, 0, 159}, {"Trigger Decision", ModeAutomated, 0, 165},
			{"Retraining Execution", ModeAutomated, 0, 173}, {"Human Review", ModeManual, 4, 179}, {"Promotion", ModeEither, 0, 190}},
		"SOP-04": {{"Generate New Secret", ModeUnmarked, 0, 224}, {"Update Secret in Kubernetes", ModeUnmarked, 0, 230},
			{"Verify Service Health", ModeUnmarked, 4, 242}, {"Decommission Old Secret", ModeUnmarked, 0, 248}, {"Update Documentation", ModeUnmarked, 3, 256}},
	}
	for _, s := range doc.SOPs {
		t.Run(s.ID, func(t *testing.T) {
			require.Len(t, s.Steps, len(want[s.ID]))
			for i, st := range s.Steps {
				w := want[s.ID][i]
				assert.Equal(t, i+1, st.Number)
				assert.Equal(t, w.title, st.Title)
				assert.Equal(t, w.mode, st.Mode, st.Title)
				assert.Len(t, st.Items, w.items, st.Title)
				assert.Equal(t, w.line, st.Line, st.Title)
			}
		})
	}
}

func TestParseNestedItemsCountAcrossStep(t *testing.T) {
	st := parseUserDoc(t).SOPs[2].Steps[3]
	require.Len(t, st.Bullets, 1)
	assert.Equal(t, "ML engineer reviews retraining results:", st.Bullets[0].Text)
	require.Len(t, st.Bullets[0].Items, 4)
	for i, it := range st.Items {
		assert.Equal(t, "s4-"+string(rune('1'+i)), it.Key)
		assert.Equal(t, it, st.Bullets[0].Items[i])
	}
	assert.Equal(t, "Model complexity/size acceptable", st.Items[3].Text)

	require.Len(t, st.Branches, 1)
	decision := st.Branches[0]
	assert.Equal(t, "Decision", decision.Condition)
	require.Len(t, decision.Branches, 3)
	assert.Equal(t, Branch{Condition: "Auto-promote", Text: "If metrics significantly better and low risk", Line: 186}, decision.Branches[0])
	assert.Equal(t, Branch{Condition: "Manual approval", Text: "If marginal improvement or new features added", Line: 187}, decision.Branches[1])
	assert.Equal(t, Branch{Condition: "Reject", Text: "If metrics worse or data issues found", Line: 188}, decision.Branches[2])
}

func TestParseBranches(t *testing.T) {
	doc := parseUserDoc(t)
	cases := []struct {
		name    string
		step    Step
		want    []string
		bullets [][]string
	}{
		{"SOP-02 step 4", doc.SOPs[1].Steps[3], []string{"If approved", "If rejected"}, [][]string{
			{"Transition model in MLflow: `Staging` \xc3\xa2\xe2\x80\xa0\xe2\x80\x99 `Production`", "Add approval metadata tags (approver name, date, ticket link)", "Notify submitter and platform team"},
			{"Document reasons in ticket", "Request additional work from submitter", "Optionally transition to `Archived` if permanently rejected"},
		}},
		{"SOP-03 step 2", doc.SOPs[2].Steps[1], []string{"If drift score > threshold OR scheduled retrain date", "Else"}, [][]string{
			{"Create retraining job ticket", "Trigger Kubeflow pipeline with latest data", "Notify ML team in Slack"},
			{`Log "no drift detected" and continue monitoring`},
		}},
		{"SOP-04 step 1", doc.SOPs[3].Steps[0], []string{"Important"}, [][]string{nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Len(t, tc.step.Branches, len(tc.want))
			for i, br := range tc.step.Branches {
				assert.Equal(t, tc.want[i], br.Condition)
				var texts []string
				for _, b := range br.Bullets {
					texts = append(texts, b.Text)
				}
				assert.Equal(t, tc.bullets[i], texts)
			}
		})
	}
	assert.Equal(t, "Do not delete old secret yet (rollback safety)", doc.SOPs[3].Steps[0].Branches[0].Text)
}

func TestParseArrowBytesUnchanged(t *testing.T) {
	doc := parseUserDoc(t)
	text := doc.SOPs[1].Steps[3].Branches[0].Bullets[0].Text
	assert.Contains(t, text, "`Staging` \xc3\xa2\xe2\x80\xa0\xe2\x80\x99 `Production`")
	assert.Contains(t, doc.SOPs[1].Source, "`Staging` \xc3\xa2\xe2\x80\xa0\xe2\x80\x99 `Production`")
}

func TestParseBulletsKeepInlineCode(t *testing.T) {
	doc := parseUserDoc(t)
	step2 := doc.SOPs[0].Steps[1]
	var texts []string
	for _, b := range step2.Bullets {
		texts = append(texts, b.Text)
	}
	assert.Equal(t, []string{
		"Log into MLflow UI",
		"Create new experiment: `<project-name>-experiment`",
		"Set experiment tags: `team=<team>`, `env=dev`, `cost-center=<cc>`",
		"Document experiment ID in project README",
	}, texts)

	step1 := doc.SOPs[1].Steps[0]
	require.Len(t, step1.Bullets, 2)
	assert.Equal(t, "Create promotion ticket (Jira/Linear) with template:", step1.Bullets[0].Text)
	assert.Len(t, step1.Bullets[0].Children, 5)
	assert.Equal(t, "Rollback plan", step1.Bullets[0].Children[4].Text)
}

func TestParseCodeBlocks(t *testing.T) {
	doc := parseUserDoc(t)
	cases := []struct {
		name  string
		step  Step
		line  int
		first string
		lines int
	}{
		{"SOP-01 step 1", doc.SOPs[0].Steps[0], 22, "kubectl create namespace ml-<project-name>\n", 3},
		{"SOP-01 step 3", doc.SOPs[0].Steps[2], 35, "cd feast/feature_repo\n", 5},
		{"SOP-04 step 2", doc.SOPs[3].Steps[1], 231, "# Example: Rotate MLflow S3 credentials\n", 8},
		{"SOP-04 step 4", doc.SOPs[3].Steps[3], 252, "kubectl delete secret mlflow-secrets-old -n mlops\n", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Len(t, tc.step.Code, 1)
			c := tc.step.Code[0]
			assert.Equal(t, "bash", c.Lang)
			assert.Equal(t, tc.line, c.Line)
			assert.Contains(t, c.Text, tc.first)
			assert.Equal(t, tc.first, c.Text[:len(tc.first)])
			assert.Equal(t, tc.lines, countLines(c.Text))
		})
	}
	assert.Contains(t, doc.SOPs[0].Steps[2].Code[0].Text, "feast materialize-incremental $(date -u +%Y-%m-%dT%H:%M:%S)\n")
	assert.Contains(t, doc.SOPs[3].Steps[1].Code[0].Text, "  --from-literal=AWS_ACCESS_KEY_ID=<new-key> \\\n")

	nested := doc.SOPs[3].Steps[3].Bullets[2]
	assert.Equal(t, "Remove old Kubernetes secret:", nested.Text)
	assert.Equal(t, doc.SOPs[3].Steps[3].Code, nested.Code)
}

func countLines(s string) int {
	n := 0
	for _, c := range s {
		if c == '\n' {
			n++
		}
	}
	return n
}

func TestParseRecordsAndCadence(t *testing.T) {
	doc := parseUserDoc(t)
	s := doc.SOPs[3]
	assert.Equal(t, "Regularly rotate secrets (API keys, DB passwords, cloud credentials) used by ML platform components to reduce security risk.", s.Purpose)
	assert.Equal(t, []string{"Secret rotation ticket with timestamps", "Service health checks and logs", "Audit trail entry"}, s.Records)
	assert.Equal(t, []string{"Rotate secrets every 90 days (cloud credentials)", "Rotate DB passwords every 180 days", "Rotate API tokens on provider recommendation or breach"}, s.ReviewCadence)
	assert.Empty(t, s.RevisionHistory)
	assert.Equal(t, []string{"Review approval process monthly", "Audit model registry quarterly for orphaned models"}, doc.SOPs[1].ReviewCadence)
	assert.Len(t, doc.SOPs[0].Records, 4)
	assert.Equal(t, 261, s.Fields[FieldRecords])
	assert.Equal(t, 266, s.Fields[FieldReviewCadence])
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want string
	}{
		{"unknown field", "## SOP-09: X\n\n### Notes\n- a\n", `x.md:3: SOP-09: unknown field heading "Notes"`},
		{"bad step heading", "## SOP-09: X\n### Procedure\n#### First things\n", `x.md:3: SOP-09: step heading "First things" is not of the form "Step N: Title"`},
		{"step out of order", "## SOP-09: X\n### Procedure\n#### Step 1: A\n#### Step 3: B\n", "x.md:4: SOP-09: step 3 found where step 2 was expected"},
		{"text before step", "## SOP-09: X\n### Procedure\nsome text\n", "x.md:3: SOP-09: Procedure text before the first step"},
		{"role without label", "## SOP-09: X\n### Roles\n- somebody\n", `x.md:3: SOP-09: role entry "somebody" does not read "**Title:** who"`},
		{"role mixes joins", "## SOP-09: X\n### Roles\n- **Owner:** A and B or C\n", `x.md:3: SOP-09: role "Owner" mixes "and" with "or"`},
		{"duplicate field", "## SOP-09: X\n### Records\n- a\n### Records\n- b\n", `x.md:4: SOP-09: field "Records" appears again (first at line 2)`},
		{"duplicate id", "## SOP-09: X\n### Records\n- a\n## SOP-09: Y\n", "x.md:4: SOP-09: ID already used by the SOP at line 1"},
		{"text before field", "## SOP-09: X\nloose text\n", "x.md:2: SOP-09: text before the first field heading"},
		{"precondition paragraph", "## SOP-09: X\n### Preconditions\nall ready\n", "x.md:3: SOP-09: Preconditions take only list items"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.md", []byte(tc.src))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseHeadingVariants(t *testing.T) {
	src := "# Doc\n\n## SOP-07\n\n### Purpose and Scope\nWhy.\n\n## SOP: Untitled ID\n\n## SOP Appendix: Notes\n- **ID:** x\n"
	doc, err := Parse("v.md", []byte(src))
	require.NoError(t, err)
	require.Len(t, doc.SOPs, 2)
	assert.Equal(t, "SOP-07", doc.SOPs[0].ID)
	assert.Empty(t, doc.SOPs[0].Title)
	assert.Equal(t, "Why.", doc.SOPs[0].Purpose)
	assert.Equal(t, 5, doc.SOPs[0].Fields[FieldPurpose])
	assert.Empty(t, doc.SOPs[1].ID)
	assert.Equal(t, "Untitled ID", doc.SOPs[1].Title)
}

func TestParseLooseListFoldsParagraphs(t *testing.T) {
	src := "## SOP-09: X\n### Procedure\n#### Step 1: A\n- first line\n\n  second para\n- **If x:** y\n\n  more\n"
	doc, err := Parse("t.md", []byte(src))
	require.NoError(t, err)
	st := doc.SOPs[0].Steps[0]
	require.Len(t, st.Bullets, 1)
	assert.Equal(t, "first line second para", st.Bullets[0].Text)
	require.Len(t, st.Branches, 1)
	assert.Equal(t, "If x", st.Branches[0].Condition)
	assert.Equal(t, "y more", st.Branches[0].Text)
}
