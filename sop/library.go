package sop

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing/fstest"

	"sigs.k8s.io/yaml"
)

//go:embed library/*.md
var embeddedLibrary embed.FS

// Library is a set of bound SOPs, one per file, that the bot can run.
type Library struct {
	sops     []*SOP
	byID     map[string]*SOP
	revision string
}

// LoadLibrary loads every *.md file at the root of fsys. Each file starts
// with YAML front matter between "---" lines, decoded strictly into a
// Binding, followed by exactly one SOP. The error joins every problem in
// every file, each as "file:line: what is wrong and what to do".
func LoadLibrary(fsys fs.FS) (*Library, error) {
	return loadLibrary(fsys, "")
}

// LoadDir loads the library in directory dir; see LoadLibrary.
func LoadDir(dir string) (*Library, error) {
	return loadLibrary(os.DirFS(dir), dir)
}

// Embedded loads the library compiled into the binary from sop/library.
func Embedded() (*Library, error) {
	sub, err := fs.Sub(embeddedLibrary, "library")
	if err != nil {
		return nil, fmt.Errorf("opening embedded library: %w", err)
	}
	return loadLibrary(sub, "sop/library")
}

// loadLibrary loads fsys, naming files in errors as dir joined with their
// name.
func loadLibrary(fsys fs.FS, dir string) (*Library, error) {
	names, err := fs.Glob(fsys, "*.md")
	if err != nil {
		return nil, fmt.Errorf("listing SOP files in %s: %w", displayDir(dir), err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("loading SOP library %s: no *.md files found", displayDir(dir))
	}
	sort.Strings(names)
	l := &Library{byID: map[string]*SOP{}}
	var errs []error
	for _, name := range names {
		display := filepath.ToSlash(path.Join(filepath.ToSlash(dir), name))
		s, err := loadFile(fsys, name, display)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key := strings.ToUpper(s.ID)
		if prev, dup := l.byID[key]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: %s is already defined in %s:%d; give each SOP its own ID",
				display, s.Line, s.ID, prev.Path, prev.Line))
			continue
		}
		l.byID[key] = s
		l.sops = append(l.sops, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(l.sops, func(i, j int) bool { return l.sops[i].ID < l.sops[j].ID })
	l.revision = libraryRevision(l.sops)
	return l, nil
}

func displayDir(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// loadFile reads, parses and validates one library file.
func loadFile(fsys fs.FS, name, display string) (*SOP, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", display, err)
	}
	fm, body, err := splitFrontMatter(display, src)
	if err != nil {
		return nil, err
	}
	b, err := decodeBinding(display, fm)
	if err != nil {
		return nil, err
	}
	doc, err := Parse(display, body)
	if err != nil {
		return nil, err
	}
	return bindSOP(display, fm, b, doc, src)
}

// decodeBinding decodes the front matter strictly into a Binding.
func decodeBinding(display string, fm frontMatter) (*Binding, error) {
	var b Binding
	err := yaml.UnmarshalStrict(fm.raw, &b)
	if err == nil {
		return &b, nil
	}
	if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
		return nil, fmt.Errorf("%s:%d: invalid front matter: unknown key %q; %s", display, fm.keyLine(m[1]), m[1], unknownKeyHint(m[1]))
	}
	return nil, fmt.Errorf("%s:%d: invalid front matter: %w; fix the YAML or remove the unknown key", display, fm.errorLine(err), err)
}

// bindSOP attaches b to the one SOP of doc and validates it.
func bindSOP(display string, fm frontMatter, b *Binding, doc *Document, src []byte) (*SOP, error) {
	if len(doc.SOPs) != 1 {
		return nil, fmt.Errorf("%s:1: found %d SOPs, expected exactly one \"## SOP-XX: Title\" section per library file", display, len(doc.SOPs))
	}
	s := doc.SOPs[0]
	s.Binding = b
	s.File = src
	s.Revision = revision(s.Source, fm.raw)
	if errs := validateBinding(display, fm, s); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// frontMatter is the YAML between the first two "---" lines of a file.
type frontMatter struct {
	raw []byte
	// first is the 1-based file line of raw's first line.
	first int
}

// splitFrontMatter separates the front matter from the Markdown. The
// returned body keeps one blank line for each front matter line, so line
// numbers in the body match the file.
func splitFrontMatter(display string, src []byte) (frontMatter, []byte, error) {
	lines := bytes.SplitAfter(src, []byte("\n"))
	if len(lines) == 0 || strings.TrimRight(string(lines[0]), "\r\n") != "---" {
		return frontMatter{}, nil, fmt.Errorf("%s:1: missing front matter; start the file with a \"---\" line, the binding in YAML, and another \"---\" line", display)
	}
	for i := 1; i < len(lines); i++ {
		if strings.TrimRight(string(lines[i]), "\r\n") != "---" {
			continue
		}
		fm := frontMatter{raw: bytes.Join(lines[1:i], nil), first: 2}
		body := append(bytes.Repeat([]byte("\n"), i+1), bytes.Join(lines[i+1:], nil)...)
		return fm, body, nil
	}
	return frontMatter{}, nil, fmt.Errorf("%s:1: front matter is not closed; add a \"---\" line after the binding", display)
}

// yamlLine matches the front-matter-relative line number in a YAML error.
var yamlLine = regexp.MustCompile(`\bline (\d+)\b`)

// errorLine returns the file line a YAML error points at, or the first
// front matter line when the error names no single line.
func (fm frontMatter) errorLine(err error) int {
	m := yamlLine.FindAllStringSubmatch(err.Error(), -1)
	if len(m) != 1 {
		return fm.first
	}
	n, convErr := strconv.Atoi(m[0][1])
	if convErr != nil || n < 1 {
		return fm.first
	}
	return fm.first + n - 1
}

// keyLine returns the file line of a key in the front matter, found by
// searching for each pattern in turn after the previous match, so
// keyLine("sections", "step-2") finds step-2 under sections. It falls back
// to the last match, or to the first front matter line.
//
// NOTE: this is a text search, not a YAML parse, so a key spelled inside a
// string value before the real key can win.
func (fm frontMatter) keyLine(keys ...string) int {
	lines := strings.Split(string(fm.raw), "\n")
	found, from := 0, 0
	for _, k := range keys {
		hit := -1
		for i := from; i < len(lines); i++ {
			if lineHasKey(lines[i], k) {
				hit = i
				break
			}
		}
		if hit < 0 {
			break
		}
		found, from = hit+fm.first, hit+1
	}
	if found == 0 {
		return fm.first
	}
	return found
}

// lineHasKey reports whether line contains key as a YAML mapping key, or
// contains key verbatim when key itself holds a colon ("name: model").
func lineHasKey(line, key string) bool {
	if strings.Contains(key, ":") {
		return strings.Contains(line, key)
	}
	for _, quoted := range []string{key, `"` + key + `"`} {
		idx := strings.Index(line, quoted+":")
		if idx < 0 {
			continue
		}
		if idx == 0 || strings.ContainsAny(line[idx-1:idx], " \t{,-") {
			return true
		}
	}
	return false
}

func libraryRevision(sops []*SOP) string {
	h := sha256.New()
	for _, s := range sops {
		fmt.Fprintf(h, "%s %s\n", s.ID, s.Revision)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SOPs returns the library's SOPs sorted by ID.
func (l *Library) SOPs() []*SOP {
	return append([]*SOP(nil), l.sops...)
}

// Get returns the SOP with the given ID, ignoring case.
func (l *Library) Get(id string) (*SOP, bool) {
	s, ok := l.byID[strings.ToUpper(id)]
	return s, ok
}

// Revision returns the hex SHA-256 over every SOP's ID and Revision, so it
// changes when any file of the library changes.
func (l *Library) Revision() string {
	return l.revision
}

// Lint lints every SOP of the library; see Lint.
func (l *Library) Lint() []Missing {
	var out []Missing
	for _, s := range l.sops {
		out = append(out, Lint(&Document{Path: s.Path, SOPs: []*SOP{s}})...)
	}
	return out
}

// LoadFile parses one library file given as bytes, such as the copy a
// request stored of the SOP it was opened under.
func LoadFile(name string, data []byte) (*SOP, error) {
	return loadFile(fstest.MapFS{"sop.md": {Data: data}}, "sop.md", name)
}
