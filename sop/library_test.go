package sop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmbeddedLibrary(t *testing.T) {
	lib, err := Embedded()
	require.NoError(t, err)
	var ids []string
	for _, s := range lib.SOPs() {
		ids = append(ids, s.ID)
		require.NotNil(t, s.Binding, s.ID)
		assert.NotEmpty(t, s.Binding.Usage.Words, s.ID)
		assert.True(t, strings.HasPrefix(s.Path, "sop/library/sop-"), s.Path)
	}
	assert.Equal(t, []string{"SOP-01", "SOP-02", "SOP-03", "SOP-04"}, ids)
	assert.Len(t, lib.Revision(), 64)

	s, ok := lib.Get("sop-02")
	require.True(t, ok)
	assert.Equal(t, Usage{
		Words: []string{"promote", "model"},
		Args:  []string{"model", "version"},
		Flags: []UsageFlag{{Name: "to", Param: "to"}},
	}, s.Binding.Usage)
	_, ok = lib.Get("SOP-99")
	assert.False(t, ok)
}

func TestLoadDirMatchesEmbedded(t *testing.T) {
	dir, err := LoadDir("library")
	require.NoError(t, err)
	emb, err := Embedded()
	require.NoError(t, err)
	assert.Equal(t, emb.Revision(), dir.Revision())
	assert.Equal(t, "library/sop-01-onboarding.md", dir.SOPs()[0].Path)
}

// TestLibraryKeepsUserFacts checks that each library SOP keeps the step
// titles, modes, roles and precondition count of the users' document.
func TestLibraryKeepsUserFacts(t *testing.T) {
	lib, err := Embedded()
	require.NoError(t, err)
	for _, user := range parseUserDoc(t).SOPs {
		t.Run(user.ID, func(t *testing.T) {
			s, ok := lib.Get(user.ID)
			require.True(t, ok)
			assert.Equal(t, user.Title, s.Title)
			assert.Len(t, s.Preconditions, len(user.Preconditions))
			require.Len(t, s.Steps, len(user.Steps))
			for i, st := range s.Steps {
				assert.Equal(t, user.Steps[i].Title, st.Title)
				assert.Equal(t, user.Steps[i].Mode, st.Mode)
				assert.Len(t, st.Code, len(user.Steps[i].Code), st.Title)
			}
			require.Len(t, s.Roles, len(user.Roles))
			for i, r := range s.Roles {
				assert.Equal(t, user.Roles[i].Title, r.Title)
				assert.Equal(t, user.Roles[i].Members, r.Members)
				assert.Equal(t, user.Roles[i].Join, r.Join)
			}
			assert.Len(t, s.Records, len(user.Records))
			assert.Len(t, s.ReviewCadence, len(user.ReviewCadence))
		})
	}
}

func TestPromotionSections(t *testing.T) {
	s := embeddedSOP(t, "SOP-02")
	var keys []string
	for _, sec := range s.Sections() {
		for _, it := range sec.Items {
			keys = append(keys, it.Key)
		}
	}
	assert.Equal(t, []string{
		"pre-1", "pre-2", "pre-3",
		"s2-1", "s2-2", "s2-3", "s2-4", "s2-5",
		"s3-1", "s3-2", "s3-3", "s3-4",
		"approve-ml-lead", "approve-compliance-officer",
		"s5-1", "s5-2", "s5-3", "s5-4",
	}, keys)

	sec, ok := s.ItemSection("approve-compliance-officer")
	require.True(t, ok)
	assert.Equal(t, "step-4", sec.Key)
	assert.True(t, sec.Approval)
	assert.Equal(t, Item{Key: "approve-compliance-officer", Text: "Approved by compliance officer", Member: "compliance officer"}, sec.Items[1])

	members, join := s.ApprovalMembers()
	assert.Equal(t, []string{"ML lead", "compliance officer"}, members)
	assert.Equal(t, JoinAll, join)

	_, ok = s.Section("step-9")
	assert.False(t, ok)
}

func TestTickMembers(t *testing.T) {
	s := embeddedSOP(t, "SOP-02")
	cases := []struct {
		key       string
		members   []string
		requester bool
		botOnly   bool
		join      Join
	}{
		{"pre", []string{"Data scientist", "ML engineer"}, true, false, JoinAny},
		{"step-1", nil, false, false, JoinSingle},
		{"step-2", []string{"ML platform engineer", "senior data scientist"}, false, false, JoinAll},
		{"step-3", []string{"compliance officer"}, false, false, JoinSingle},
		{"step-4", []string{"ML lead", "compliance officer"}, false, false, JoinAll},
		{"step-5", []string{"ML platform engineer"}, true, false, JoinAny},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			sec, ok := s.Section(tc.key)
			require.True(t, ok)
			members, requester, botOnly, join := s.TickMembers(sec)
			assert.Equal(t, tc.members, members)
			assert.Equal(t, tc.requester, requester)
			assert.Equal(t, tc.botOnly, botOnly)
			assert.Equal(t, tc.join, join)
		})
	}

	bot := Section{Key: "step-1", Rule: SectionRule{Tick: []string{"bot"}}}
	_, _, botOnly, _ := s.TickMembers(bot)
	assert.True(t, botOnly)
	anyReviewer := Section{Key: "step-2", Rule: SectionRule{Tick: []string{"Reviewer"}, Require: "any"}}
	_, _, _, join := s.TickMembers(anyReviewer)
	assert.Equal(t, JoinAny, join)
	noRule := Section{Key: "step-9", Items: []Item{{Key: "s9-1"}}}
	_, requester, _, _ := s.TickMembers(noRule)
	assert.True(t, requester)
}

// promotionFile returns the SOP-02 library file with its front matter
// replaced by frontMatter.
func promotionFile(t *testing.T, frontMatter string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("library", "sop-02-model-promotion.md"))
	require.NoError(t, err)
	end := strings.Index(string(src[4:]), "\n---\n") + 4
	return []byte("---\n" + frontMatter + string(src[end+1:]))
}

const goodBinding = `sop: SOP-02
command: "promote model <model> <version> [--to <to>]"
title: "Promote {model} v{version} to {to}"
target: "model:{model}:{to}"
params:
  - {name: model, kind: model-name}
  - {name: version, kind: model-version}
  - {name: to, kind: stage-or-alias, default: Production}
sections:
  pre: {tick: [requester, Submitter]}
  step-2: {tick: [Reviewer], require: all}
checks: {pre-1: mlflow-version-stage}
approval: {step: 4, role: Approver}
onApproved: mlflow-promote
`

func TestBindingValidation(t *testing.T) {
	cases := []struct {
		name string
		old  string // text of goodBinding to replace
		new  string
		want []string
	}{
		{"valid", "", "", nil},
		{"misspelled key", "onApproved:", "onAproved:", []string{`f.md:15: invalid front matter: unknown key "onAproved"; did you mean "onApproved"?`}},
		{"unknown key", "onApproved:", "bogus: 1\nonApproved:", []string{`f.md:15: invalid front matter: unknown key "bogus"; remove it; the binding's top-level keys are actions, approval,`}},
		{"misspelled nested key", "kind: model-version}", "kid: model-version}", []string{`f.md:8: invalid front matter: unknown key "kid"; did you mean "kind"?`}},
		{"wrong sop", "sop: SOP-02", "sop: SOP-05", []string{`f.md:2: binding names sop "SOP-05" but the file's SOP heading`, "set sop: SOP-02"}},
		{"bad usage", `[--to <to>]"`, `[--to <to>] extra"`, []string{"f.md:3: invalid command: usage"}},
		{"words after params", `promote model <model>`, `promote <model> model`, []string{"f.md:3: invalid command", `"model" is neither <param> nor a flag`}},
		{"undeclared command param", `<version> [--to`, `<version> <extra> [--to`, []string{"f.md:3: command uses <extra>, which params does not declare"}},
		{"undeclared title param", "v{version}", "v{ver}", []string{"f.md:4: title uses {ver}, which params does not declare"}},
		{"undeclared target param", "model:{model}:{to}", "model:{name}", []string{"f.md:5: target uses {name}"}},
		{"bad kind", "kind: model-version", "kind: integer", []string{`f.md:8: parameter "version" has invalid kind "integer"`}},
		{"unused param", "  - {name: to,", "  - {name: spare, kind: text}\n  - {name: to,", []string{`f.md:9: parameter "spare" is not in the command`}},
		{"bad default", "default: Production", "default: \"not a stage\"", []string{`f.md:9: default of parameter "to"`}},
		{"unknown section", "step-2: {tick", "step-9: {tick", []string{`f.md:12: sections key "step-9" names no section`}},
		{"unknown tick name", "[requester, Submitter]", "[requester, Auditor]", []string{`f.md:11: section "pre": tick name "Auditor" is not a role title or member of SOP-02`}},
		{"empty tick", "[requester, Submitter]", "[]", []string{`f.md:11: section "pre" has an empty tick list`}},
		{"bad require", "require: all", "require: most", []string{`f.md:12: section "step-2": invalid require "most"`}},
		{"bad after", "require: all}", "require: all, after: step-8}", []string{`f.md:12: section "step-2": after "step-8" names no section`}},
		{"approval step", "step: 4, role", "step: 7, role", []string{"f.md:14: approval step 7 does not exist"}},
		{"approval role", "role: Approver", "role: Boss", []string{`f.md:14: approval role "Boss" is not a role title of SOP-02`}},
		{"check key", "pre-1: mlflow", "pre-7: mlflow", []string{`f.md:13: checks key "pre-7" is not an item of SOP-02`}},
		{"yaml syntax", "target: \"model:{model}:{to}\"", "target: \"model:{model}:{to}\"\ntarget: x", []string{"f.md:6: invalid front matter", `key "target" already set`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fm := goodBinding
			if tc.old != "" {
				require.Contains(t, fm, tc.old)
				fm = strings.Replace(fm, tc.old, tc.new, 1)
			}
			_, err := LoadLibrary(fstest.MapFS{"f.md": {Data: promotionFile(t, fm)}})
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestBindingValidationReportsAll(t *testing.T) {
	fm := strings.NewReplacer("role: Approver", "role: Boss", "pre-1: mlflow", "pre-7: mlflow").Replace(goodBinding)
	_, err := LoadLibrary(fstest.MapFS{"f.md": {Data: promotionFile(t, fm)}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `approval role "Boss"`)
	assert.Contains(t, err.Error(), `checks key "pre-7"`)
}

func TestLoadLibraryFileErrors(t *testing.T) {
	good := promotionFile(t, goodBinding)
	cases := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"no files", fstest.MapFS{"notes.txt": {Data: []byte("x")}}, "no *.md files found"},
		{"no front matter", fstest.MapFS{"a.md": {Data: []byte("## SOP-02: X\n")}}, "a.md:1: missing front matter"},
		{"unclosed front matter", fstest.MapFS{"a.md": {Data: []byte("---\nsop: SOP-02\n")}}, "a.md:1: front matter is not closed"},
		{"two SOPs", fstest.MapFS{"a.md": {Data: append(append([]byte{}, good...), "\n## SOP-03: More\n"...)}}, "a.md:1: found 2 SOPs"},
		{"duplicate id", fstest.MapFS{"a.md": {Data: good}, "b.md": {Data: good}}, "b.md:18: SOP-02 is already defined in a.md:18"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadLibrary(tc.fsys)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseUsage(t *testing.T) {
	cases := []struct {
		usage string
		want  Usage
		err   string
	}{
		{"rotate secret <secret>", Usage{Words: []string{"rotate", "secret"}, Args: []string{"secret"}}, ""},
		{"onboard [--team <team>]", Usage{Words: []string{"onboard"}, Flags: []UsageFlag{{Name: "team", Param: "team"}}}, ""},
		{"<model>", Usage{}, "does not start with a literal lower-case word"},
		{"Promote <model>", Usage{}, "does not start with a literal lower-case word"},
		{"promote [--to <to>] <model>", Usage{}, "does not read --flag <param> or [--flag <param>]"},
		{"promote [--to]", Usage{}, "does not read --flag <param> or [--flag <param>]"},
		{"promote <Model>", Usage{}, "is neither <param>"},
		{"onboard project <project> --team <team> [--quota <quota>]", Usage{Words: []string{"onboard", "project"}, Args: []string{"project"},
			Flags: []UsageFlag{{Name: "team", Param: "team", Required: true}, {Name: "quota", Param: "quota"}}}, ""},
		{"rotate secret <secret> -n|--namespace <namespace>", Usage{Words: []string{"rotate", "secret"}, Args: []string{"secret"},
			Flags: []UsageFlag{{Name: "namespace", Short: "n", Param: "namespace", Required: true}}}, ""},
		{"rotate -ns|--namespace <namespace>", Usage{}, "does not read --flag <param>"},
		{"rotate --team <team> [--team <other>]", Usage{}, "flag \"team\" appears twice"},
		{"rotate --team <team>]", Usage{}, "does not read --flag <param>"},
	}
	for _, tc := range cases {
		t.Run(tc.usage, func(t *testing.T) {
			got, err := ParseUsage(tc.usage)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParamValidate(t *testing.T) {
	cases := []struct {
		kind  ParamKind
		value string
		ok    bool
	}{
		{KindModelName, "fraud-detector", true},
		{KindModelName, "fraud detector", false},
		{KindModelVersion, "3", true},
		{KindModelVersion, "0", false},
		{KindModelVersion, "+3", false},
		{KindModelVersion, "v3", false},
		{KindStageOrAlias, "Production", true},
		{KindStageOrAlias, "champion", true},
		{KindStageOrAlias, "a b", false},
		{KindK8sName, "mlflow-secrets", true},
		{KindK8sName, "MLflow", false},
		{KindText, "cc-1234", true},
		{KindText, "two\nlines", false},
		{"bogus", "x", false},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind)+" "+tc.value, func(t *testing.T) {
			err := Param{Name: "p", Kind: tc.kind}.Validate(tc.value)
			assert.Equal(t, tc.ok, err == nil, "error: %v", err)
		})
	}
}
