package sop

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// bindingCheck collects the problems of one binding, each located by the
// front matter key it concerns.
type bindingCheck struct {
	display string
	fm      frontMatter
	sop     *SOP
	errs    []error
}

func (c *bindingCheck) errorf(line int, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s:%d: %s", c.display, line, fmt.Sprintf(format, args...)))
}

// validateBinding checks s.Binding against s and fills Binding.Usage.
func validateBinding(display string, fm frontMatter, s *SOP) []error {
	c := &bindingCheck{display: display, fm: fm, sop: s}
	b := s.Binding
	if !strings.EqualFold(b.SOP, s.ID) {
		c.errorf(fm.keyLine("sop"), "binding names sop %q but the file's SOP heading at line %d is %q; set sop: %s", b.SOP, s.Line, s.ID, s.ID)
	}
	declared := c.params()
	c.usage(declared)
	c.template("title", b.Title, declared)
	c.template("target", b.Target, declared)
	c.sections()
	c.approval()
	c.actions(declared)
	c.placeholders(declared)
	c.inventory(declared)
	c.checks()
	return c.errs
}

// placeholders checks that each placeholder is non-empty, names a declared
// parameter and is no prefix of another. Text that starts with the longer
// placeholder also starts with the shorter one, so its meaning would be
// ambiguous.
func (c *bindingCheck) placeholders(declared map[string]bool) {
	placeholders := c.sop.Binding.Placeholders
	line := c.fm.keyLine("placeholders")
	keys := sortedKeys(placeholders)
	for _, key := range keys {
		if key == "" {
			c.errorf(line, "placeholders has an empty key; write the text the commands use, such as <project-name>")
			continue
		}
		if param := placeholders[key]; !declared[param] {
			c.errorf(line, "placeholder %q names parameter %q, which params does not declare", key, param)
		}
		for _, other := range keys {
			if other != key && strings.HasPrefix(other, key) {
				c.errorf(line, "placeholder %q is a prefix of placeholder %q, so a command that contains %q could mean either; rename one, such as with a closing '>'", key, other, other)
			}
		}
	}
}

// inventory checks that Inventory is known and that the binding declares
// the parameters that inventory reads.
func (c *bindingCheck) inventory(declared map[string]bool) {
	name := c.sop.Binding.Inventory
	if name == "" {
		return
	}
	line := c.fm.keyLine("inventory")
	required, ok := inventoryParams[name]
	if !ok {
		c.errorf(line, "inventory %q is not an inventory of the bot; use %q or leave it out", name, InventorySecrets)
		return
	}
	for _, param := range required {
		if !declared[param] {
			c.errorf(line, "inventory %q reads parameter <%s>, which params does not declare; add {name: %s, kind: k8s-name}", name, param, param)
		}
	}
}

// params checks names, kinds and defaults, and returns the declared names.
func (c *bindingCheck) params() map[string]bool {
	declared := map[string]bool{}
	for _, p := range c.sop.Binding.Params {
		line := c.fm.keyLine("params", "name: "+p.Name)
		switch {
		case !paramName.MatchString(p.Name):
			c.errorf(line, "invalid parameter name %q; use lower-case letters, digits and '-', starting with a letter", p.Name)
		case declared[p.Name]:
			c.errorf(line, "parameter %q is declared twice; remove one", p.Name)
		}
		declared[p.Name] = true
		if !slices.Contains(validKinds, p.Kind) {
			c.errorf(line, "parameter %q has invalid kind %q; use one of %s", p.Name, p.Kind, kindList())
			continue
		}
		if limit := kindMaxLength[p.Kind]; p.MaxLength < 0 || p.MaxLength > limit {
			c.errorf(line, "parameter %q has maxLength %d; use 1 to %d, the limit of kind %s, or leave it out", p.Name, p.MaxLength, limit, p.Kind)
			continue
		}
		if p.Default != "" {
			if err := p.Validate(p.Default); err != nil {
				c.errorf(line, "default of parameter %q: %v; fix the default", p.Name, err)
			}
		}
	}
	return declared
}

func kindList() string {
	names := make([]string, len(validKinds))
	for i, k := range validKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// usage parses the command and checks that it and the params match.
func (c *bindingCheck) usage(declared map[string]bool) {
	b := c.sop.Binding
	line := c.fm.keyLine("command")
	if b.Command == "" {
		c.errorf(line, "command is missing; add a usage line such as \"promote model <model> [--to <to>]\"")
		return
	}
	u, err := ParseUsage(b.Command)
	if err != nil {
		c.errorf(line, "invalid command: %v", err)
		return
	}
	b.Usage = u
	used := map[string]bool{}
	for _, name := range u.Params() {
		if used[name] {
			c.errorf(line, "command uses <%s> twice; use each parameter once", name)
		}
		used[name] = true
		if !declared[name] {
			c.errorf(line, "command uses <%s>, which params does not declare; add {name: %s, kind: ...} to params", name, name)
		}
	}
	for _, p := range b.Params {
		if !used[p.Name] {
			c.errorf(c.fm.keyLine("params", "name: "+p.Name), "parameter %q is not in the command; add <%s> or [--%s <%s>] to the command, or remove it",
				p.Name, p.Name, p.Name, p.Name)
		}
	}
}

// template checks that every {name} in a title or target is declared.
func (c *bindingCheck) template(key, tmpl string, declared map[string]bool) {
	line := c.fm.keyLine(key)
	if tmpl == "" {
		c.errorf(line, "%s is missing; add a template such as \"model:{model}\"", key)
		return
	}
	for _, m := range placeholder.FindAllStringSubmatch(tmpl, -1) {
		if !declared[m[1]] {
			c.errorf(line, "%s uses {%s}, which params does not declare; declare it or fix the name", key, m[1])
		}
	}
	if rest := placeholder.ReplaceAllString(tmpl, ""); strings.ContainsAny(rest, "{}") {
		c.errorf(line, "%s %q has an unmatched brace; write placeholders as {name}", key, tmpl)
	}
}

// sections checks every section rule against the SOP.
func (c *bindingCheck) sections() {
	for _, key := range sortedKeys(c.sop.Binding.Sections) {
		rule := c.sop.Binding.Sections[key]
		line := c.fm.keyLine("sections", key)
		if !c.sectionExists(key) {
			c.errorf(line, "sections key %q names no section; use \"pre\" or \"step-N\" for a step from 1 to %d", key, len(c.sop.Steps))
		}
		if len(rule.Tick) == 0 {
			c.errorf(line, "section %q has an empty tick list; name a role, a role member, %s or %s", key, TickRequester, TickBot)
		}
		for _, name := range rule.Tick {
			if !c.tickNameExists(name) {
				c.errorf(line, "section %q: tick name %q is not a role title or member of %s; use one of %s",
					key, name, c.sop.ID, strings.Join(c.tickNames(), ", "))
			}
		}
		if rule.Require != "" && rule.Require != "all" && rule.Require != "any" {
			c.errorf(line, "section %q: invalid require %q; use \"all\", \"any\" or leave it out", key, rule.Require)
		}
		c.after(key, rule.After, line)
	}
}

func (c *bindingCheck) after(key, after string, line int) {
	switch {
	case after == "":
	case after == "approval":
		if c.sop.Binding.Approval == nil {
			c.errorf(line, "section %q waits for the approval, but the binding has no approval; add approval: {step: N, role: ...}", key)
		}
	case after == key:
		c.errorf(line, "section %q waits for itself; name an earlier section", key)
	case !c.sectionExists(after):
		c.errorf(line, "section %q: after %q names no section; use \"approval\", \"pre\" or \"step-N\"", key, after)
	}
}

func (c *bindingCheck) sectionExists(key string) bool {
	if key == "pre" {
		return true
	}
	if key == SectionApproval {
		a := c.sop.Binding.Approval
		return a != nil && a.Before != 0
	}
	n, ok := strings.CutPrefix(key, "step-")
	if !ok {
		return false
	}
	number, err := strconv.Atoi(n)
	return err == nil && strconv.Itoa(number) == n && c.sop.step(number) != nil
}

func (c *bindingCheck) tickNameExists(name string) bool {
	for _, n := range c.tickNames() {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// tickNames lists every name a tick list may use for this SOP.
func (c *bindingCheck) tickNames() []string {
	names := []string{TickRequester, TickBot}
	for _, r := range c.sop.Roles {
		names = append(names, r.Title)
		names = append(names, r.Members...)
	}
	return names
}

func (c *bindingCheck) approval() {
	a := c.sop.Binding.Approval
	if a == nil {
		if c.sop.Binding.OnApproved != "" {
			c.errorf(c.fm.keyLine("onApproved"), "onApproved %q needs an approval gate; add approval: {step: N, role: ...}", c.sop.Binding.OnApproved)
		}
		return
	}
	line := c.fm.keyLine("approval")
	switch {
	case a.Step != 0 && a.Before != 0:
		c.errorf(line, "approval sets both step %d and before %d; use step for an approval step of the procedure or before for an approval section ahead of a step", a.Step, a.Before)
	case a.Before != 0 && c.sop.step(a.Before) == nil:
		c.errorf(line, "approval before step %d: that step does not exist; use a step from 1 to %d", a.Before, len(c.sop.Steps))
	case a.Before == 0 && c.sop.step(a.Step) == nil:
		c.errorf(line, "approval step %d does not exist; use a step from 1 to %d", a.Step, len(c.sop.Steps))
	}
	_, ok := c.sop.Role(a.Role)
	switch {
	case ok:
	case len(c.sop.Roles) == 0:
		c.errorf(line, "approval role %q is not a role title of %s, which lists no roles; add a Roles section that defines it", a.Role, c.sop.ID)
	default:
		c.errorf(line, "approval role %q is not a role title of %s; use one of %s", a.Role, c.sop.ID, strings.Join(c.roleTitles(), ", "))
	}
}

// AfterOpen is the name an action rule's After uses for "as soon as the
// request's issue is open".
const AfterOpen = "open"

// actions checks the action rules: unique names, and "open", known
// sections, items and earlier actions in After. Ticks must name existing
// items that neither the approval nor another action ticks. The target is
// built from declared parameters. On an SOP with an approval, no action
// may run at open or tick a step after the approval before it is given.
func (c *bindingCheck) actions(declared map[string]bool) {
	names, gated, tickedBy := map[string]bool{}, map[string]bool{}, map[string]string{}
	for i, a := range c.sop.Binding.Actions {
		line := c.fm.keyLine("actions", "name: "+a.Name)
		if a.Name == "" {
			c.errorf(c.fm.keyLine("actions"), "action %d has no name; add name: such as k8s-onboard", i+1)
			continue
		}
		if names[a.Name] {
			c.errorf(line, "action %q is listed twice; list each action once", a.Name)
		}
		if len(a.After) == 0 {
			c.errorf(line, "action %q has no after list; name what must be complete first, such as [approval]", a.Name)
		}
		for _, after := range a.After {
			switch {
			case after == AfterOpen:
			case after == SectionApproval && c.sop.Binding.Approval != nil:
			case names[after]:
			case after == a.Name:
				c.errorf(line, "action %q waits for itself; name an earlier action or a section", a.Name)
			case c.itemExists(after):
				if slices.Contains(a.Ticks, after) {
					c.errorf(line, "action %q waits for item %q, which it ticks itself; wait for another item", a.Name, after)
				}
			case !c.sectionExists(after):
				c.errorf(line, "action %q: after %q names no section, item or earlier action; use \"open\", \"approval\", \"pre\", \"step-N\", an item key such as s5-1 or an action listed above it", a.Name, after)
			}
		}
		c.actionTicks(a, line, tickedBy)
		if a.Target == "" {
			c.errorf(line, "action %q has no target; add a lock template such as \"namespace:ml-{project}\"", a.Name)
		}
		for _, m := range placeholder.FindAllStringSubmatch(a.Target, -1) {
			if !declared[m[1]] {
				c.errorf(line, "action %q target uses {%s}, which params does not declare", a.Name, m[1])
			}
		}
		if rest := placeholder.ReplaceAllString(a.Target, ""); strings.ContainsAny(rest, "{}") {
			c.errorf(line, "action %q target %q has an unmatched brace; write placeholders as {name}", a.Name, a.Target)
		}
		// An action reported here counts as gated, so the actions that
		// wait for it are not reported as well.
		gated[a.Name] = c.waitsForApproval(a, gated) || c.approvalBypass(a, line)
		names[a.Name] = true
	}
}

// actionTicks checks the items one action ticks: each exists, none is an
// approval line, which only an approver's sign-off ticks, and no other
// action ticks it too. tickedBy maps each item to the first action that
// ticks it.
func (c *bindingCheck) actionTicks(a ActionRule, line int, tickedBy map[string]string) {
	for _, key := range a.Ticks {
		switch {
		case !c.itemExists(key):
			c.errorf(line, "action %q ticks %q, which is no checklist item of %s; use an item key such as s1-1", a.Name, key, c.sop.ID)
		case c.isApprovalItem(key):
			c.errorf(line, "action %q ticks the approval item %q; only an approver's sign-off ticks it, so remove it from ticks", a.Name, key)
		case tickedBy[key] != "" && tickedBy[key] != a.Name:
			c.errorf(line, "actions %q and %q both tick %q; let one action tick each item", tickedBy[key], a.Name, key)
		default:
			tickedBy[key] = a.Name
		}
	}
}

// waitsForApproval reports whether an action runs only after the approval:
// it waits for the approval itself, for a section or item that opens after
// the approval, or for an earlier action that does.
func (c *bindingCheck) waitsForApproval(a ActionRule, gated map[string]bool) bool {
	if c.sop.Binding.Approval == nil {
		return false
	}
	for _, after := range a.After {
		if after == SectionApproval || gated[after] {
			return true
		}
		sec, ok := c.sop.Section(after)
		if !ok {
			sec, ok = c.sop.ItemSection(after)
		}
		if ok && (sec.Approval || c.sop.AfterApproval(sec) || c.sop.rule(sec.Key).After == SectionApproval) {
			return true
		}
	}
	return false
}

// approvalBypass reports an action that does not wait for the approval
// of its SOP but runs as soon as the issue opens, or ticks an item of a
// step that opens only after the approval. It returns whether it reported
// one.
func (c *bindingCheck) approvalBypass(a ActionRule, line int) bool {
	if c.sop.Binding.Approval == nil {
		return false
	}
	if slices.Contains(a.After, AfterOpen) {
		c.errorf(line, "action %q runs as soon as the issue opens (after: [%s]), before the approval of %s; wait for approval or for an action that does",
			a.Name, AfterOpen, c.sop.ID)
		return true
	}
	for _, key := range a.Ticks {
		sec, ok := c.sop.ItemSection(key)
		if ok && !sec.Approval && c.sop.AfterApproval(sec) {
			c.errorf(line, "action %q ticks %q of %q, which comes after the approval, but its after list %v does not wait for the approval; add approval to after",
				a.Name, key, sec.Title, a.After)
			return true
		}
	}
	return false
}

func (c *bindingCheck) isApprovalItem(key string) bool {
	sec, ok := c.sop.ItemSection(key)
	if !ok || !sec.Approval {
		return false
	}
	for _, it := range c.sop.approvalItems() {
		if it.Key == key {
			return true
		}
	}
	return false
}

func (c *bindingCheck) itemExists(key string) bool {
	for _, sec := range c.sop.Sections() {
		for _, it := range sec.Items {
			if it.Key == key {
				return true
			}
		}
	}
	return false
}

func (c *bindingCheck) roleTitles() []string {
	titles := make([]string, len(c.sop.Roles))
	for i, r := range c.sop.Roles {
		titles[i] = r.Title
	}
	return titles
}

func (c *bindingCheck) checks() {
	keys := map[string]bool{}
	for _, it := range c.sop.Preconditions {
		keys[it.Key] = true
	}
	for _, st := range c.sop.Steps {
		for _, it := range st.Items {
			keys[it.Key] = true
		}
	}
	for _, key := range sortedKeys(c.sop.Binding.Checks) {
		line := c.fm.keyLine("checks", key)
		if !keys[key] {
			c.errorf(line, "checks key %q is not an item of %s; use an item key such as pre-1 or s2-3", key, c.sop.ID)
		}
		if c.sop.Binding.Checks[key] == "" {
			c.errorf(line, "check for item %q has no name; name the check the bot runs", key)
		}
	}
}

// step returns the step with the given number, or nil.
func (s *SOP) step(number int) *Step {
	for i := range s.Steps {
		if s.Steps[i].Number == number {
			return &s.Steps[i]
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
