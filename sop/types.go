package sop

// Document is one parsed SOP Markdown file, which may hold several SOPs.
type Document struct {
	Path string
	SOPs []*SOP
}

// SOP is one procedure in the template-field format, plus the binding that
// says how the bot runs it. Binding is nil for a document without front matter.
type SOP struct {
	// Path is the file the SOP was parsed from, as given to Parse.
	Path            string
	ID              string
	Title           string
	Purpose         string
	Roles           []Role
	Preconditions   []Item
	Steps           []Step
	Records         []string
	ReviewCadence   []string
	RevisionHistory []string

	// Fields maps each template field found to the 1-based line where it starts.
	Fields map[Field]int
	// Line is the 1-based line of the SOP's heading.
	Line int
	// Source is the SOP's own Markdown, from its heading to the next SOP.
	Source string
	// Revision is the hex SHA-256 of Source and the binding's bytes.
	Revision string
	// File is the whole library file the SOP came from, front matter
	// included; nil for an SOP parsed from a plain document.
	File []byte

	Binding *Binding
}

// Field names one template field of the SOP format.
type Field string

// The template fields, in the order the format lists them.
const (
	FieldID              Field = "ID"
	FieldTitle           Field = "Title"
	FieldPurpose         Field = "Purpose & Scope"
	FieldRoles           Field = "Roles"
	FieldPreconditions   Field = "Preconditions"
	FieldProcedure       Field = "Procedure"
	FieldRecords         Field = "Records"
	FieldReviewCadence   Field = "Review Cadence"
	FieldRevisionHistory Field = "Revision History"
)

// AllFields lists the template fields in document order.
var AllFields = []Field{
	FieldID, FieldTitle, FieldPurpose, FieldRoles, FieldPreconditions,
	FieldProcedure, FieldRecords, FieldReviewCadence, FieldRevisionHistory,
}

// Join says how the people named in a role line combine.
type Join string

// Join values: a single holder, every member ("A and B"), or any member ("A or B").
const (
	JoinSingle Join = "single"
	JoinAll    Join = "and"
	JoinAny    Join = "or"
)

// Role is one line of the Roles field, such as
// "**Approver:** ML lead and compliance officer".
type Role struct {
	Title string // "Approver"
	Who   string // "ML lead and compliance officer", as written
	// Members are the role holders named in Who, with any parenthetical
	// note removed: ["ML lead", "compliance officer"].
	Members []string
	Note    string // a trailing parenthetical, such as "for major model changes"
	Join    Join
	Line    int
}

// Item is one checklist entry. Key is stable for a given SOP revision:
// "pre-N" for the Nth precondition and "sS-N" for the Nth checkbox of step S,
// counted in document order across the whole step, so rewording an item's
// text does not change its key. The approval step also gets one generated
// item per approval member, keyed "approve-<member slug>" (see Sections).
type Item struct {
	Key     string
	Text    string
	Checked bool
	Line    int
	// Member is set on a generated approval item only: the role member whose
	// sign-off the item records, such as "ML lead".
	Member string
}

// Mode is the "(Automated)" or "(Manual)" marker of a step heading.
type Mode string

// Step modes. ModeUnmarked means the heading carries no marker.
const (
	ModeUnmarked  Mode = ""
	ModeAutomated Mode = "automated"
	ModeManual    Mode = "manual"
	ModeEither    Mode = "automated or manual"
)

// Step is one "#### Step N: Title" section of the Procedure field.
//
// Items and Code list every checkbox and code block of the step, including
// those nested in list entries. Bullets, Branches and Paragraphs are the
// top-level entries only; nested entries sit in their parent. Line orders
// the entries of one level in document order.
type Step struct {
	Number     int
	Title      string
	Mode       Mode
	Items      []Item
	Bullets    []Bullet
	Branches   []Branch
	Code       []CodeBlock
	Paragraphs []Paragraph
	Line       int
}

// Bullet is a plain list entry of a step, with its nested entries.
type Bullet struct {
	Text     string
	Children []Bullet
	Items    []Item      // checkboxes nested under this entry
	Branches []Branch    // decision entries nested under this entry
	Code     []CodeBlock // code blocks nested under this entry
	Line     int
}

// Branch is a decision entry: a list entry that starts with a bold label
// ending in a colon, such as "**If approved:**", with what follows it.
type Branch struct {
	Condition string // the label without its colon: "If approved"
	Text      string // text after the label on the same line, often empty
	Bullets   []Bullet
	Items     []Item
	Branches  []Branch // nested decision entries, such as the options of "**Decision:**"
	Code      []CodeBlock
	Line      int
}

// Paragraph is free text inside a step that is neither a list nor code.
type Paragraph struct {
	Text string
	Line int
}

// CodeBlock is a fenced or indented code block inside a step.
type CodeBlock struct {
	Lang string // first word of the fence's info string, such as "bash"
	Text string // the content lines, each ending in a newline
	Line int    // line of the opening fence
}

// Missing is one template field absent from an SOP, or present with no
// content, for `sopbot sops lint`.
type Missing struct {
	Path  string
	Line  int // the SOP heading's line
	SOPID string
	Field Field
	// Empty is true when the field's heading is present but nothing follows it.
	Empty bool
}
