package sop

// Binding is the YAML front matter of an SOP file in the bot's library. It
// says what Markdown cannot: the command that opens a request, its
// parameters, who may tick each section and what runs when a gate opens.
type Binding struct {
	// SOP is the ID of the SOP in the same file that this binding runs.
	SOP string `json:"sop"`
	// Command is the usage line, such as
	// "promote model <model> <version> [--to <to>]".
	Command string `json:"command"`
	// Title is the issue title template; {name} is replaced by a parameter.
	Title string `json:"title"`
	// Target is the lock target template, such as "model:{model}:{to}".
	// Two open requests with the same rendered target are the same request.
	Target string  `json:"target"`
	Params []Param `json:"params"`
	// Sections maps "pre" (the preconditions) or "step-N" to who ticks it.
	Sections map[string]SectionRule `json:"sections"`
	// Checks maps an item key to the name of a check the bot runs itself.
	Checks map[string]string `json:"checks,omitempty"`
	// Approval names the step whose sign-off is the approval gate.
	Approval *ApprovalRule `json:"approval,omitempty"`
	// OnApproved names the action that runs when every gate before the
	// approval step and the approval itself are complete.
	OnApproved string `json:"onApproved,omitempty"`
	// Actions lists the infra actions the bot performs itself, each once
	// the sections and actions it waits for are complete.
	Actions []ActionRule `json:"actions,omitempty"`
	// Placeholders maps a placeholder the SOP's commands use, such as
	// "<project-name>", to the parameter whose value replaces it in the
	// issue's code blocks, so the commands shown can be run as they are.
	Placeholders map[string]string `json:"placeholders,omitempty"`
	// Inventory names a bot inventory that must list a request's subject
	// before the request opens or its parameters change. Only
	// InventorySecrets exists.
	Inventory string `json:"inventory,omitempty"`
	// CloseWhenDone closes the issue when every section is complete.
	CloseWhenDone bool `json:"closeWhenDone,omitempty"`

	// Usage is Command parsed; filled by the loader.
	Usage Usage `json:"-"`
}

// InventorySecrets is the Inventory value that requires <secret> in
// <namespace> to be a row of the secret inventory and, when that row names
// a deployment, <deployment> to be that deployment.
const InventorySecrets = "secrets"

// inventoryParams lists the parameters each Inventory value requires. The
// secret inventory also reads <deployment> when the binding declares it.
var inventoryParams = map[string][]string{
	InventorySecrets: {"secret", "namespace"},
}

// ParamKind selects the validation a parameter value gets before any
// outside call.
type ParamKind string

// Parameter kinds.
const (
	KindModelName    ParamKind = "model-name"    // MLflow registered model name
	KindModelVersion ParamKind = "model-version" // positive decimal integer, sent as a string
	KindStageOrAlias ParamKind = "stage-or-alias"
	KindK8sName      ParamKind = "k8s-name" // RFC 1123 label
	KindText         ParamKind = "text"
)

// Param is one parameter of a request.
type Param struct {
	Name        string    `json:"name"`
	Kind        ParamKind `json:"kind"`
	Default     string    `json:"default,omitempty"`
	Description string    `json:"description,omitempty"`
	// MaxLength caps the value's length in bytes below its kind's own
	// limit, such as 60 for a name that a prefix turns into a 63-byte
	// Kubernetes name. Zero keeps the kind's limit.
	MaxLength int `json:"maxLength,omitempty"`
}

// SectionRule says who may tick the items of one section.
type SectionRule struct {
	// Tick lists role titles ("Reviewer") or role members ("compliance
	// officer") whose holders may tick. "requester" is the person who opened
	// the request. "bot" alone means only the bot ticks.
	Tick []string `json:"tick"`
	// Require is "all" when every member in Tick must tick at least one item
	// of the section (the "A and B" of a role line) and "any" otherwise.
	// Empty takes the join of the role line when Tick names one role, and
	// "any" when Tick names several entries (see SOP.TickMembers).
	Require string `json:"require,omitempty"`
	// After names a section ("approval" or "step-N") that must be complete
	// before this section's items may be ticked.
	After string `json:"after,omitempty"`
}

// ApprovalRule names the approval step and the role that signs it. Step
// puts the approval lines into an existing step. Before adds a section of
// its own, keyed "approval", in front of that step, for an SOP whose roles
// name approvers but whose procedure has no approval step.
type ApprovalRule struct {
	Step   int    `json:"step,omitempty"`
	Before int    `json:"before,omitempty"`
	Role   string `json:"role"` // a role title such as "Approver"
}

// GateStep returns the number of the first step that waits for the
// approval: the step after the approval step, or the Before step.
func (a *ApprovalRule) GateStep() int {
	if a == nil {
		return 0
	}
	if a.Before > 0 {
		return a.Before
	}
	return a.Step + 1
}

// ActionRule is one infra action of a binding.
type ActionRule struct {
	// Name is the action the bot runs, such as "k8s-onboard".
	Name string `json:"name"`
	// After lists what must be complete first: "open" (the request's issue
	// is open), "approval", a section key ("pre", "step-N"), an item key
	// ("s5-1", ticked) or the name of another action of the binding.
	After []string `json:"after"`
	// Ticks lists the items the bot ticks when the action succeeds.
	Ticks []string `json:"ticks,omitempty"`
	// Target is the lock template, such as "namespace:ml-{project}": two
	// actions with the same rendered target never run at the same time.
	Target string `json:"target"`
}

// Usage is a parsed command line template.
type Usage struct {
	Words []string    // literal words, such as ["promote", "model"]
	Args  []string    // positional parameter names, in order
	Flags []UsageFlag // optional flags
}

// UsageFlag is one "--name <param>" or "[--name <param>]" of a usage line.
type UsageFlag struct {
	Name     string // flag name without dashes
	Short    string // one-letter short form without the dash, or empty
	Param    string // parameter it sets
	Required bool   // written without brackets
}
