// Package sop parses SOP Markdown documents, loads the bot's library of
// bound SOPs, and renders and reads back the issue bodies that track one
// request.
//
// # Format
//
// An SOP starts at a level-2 heading "## SOP-XX: Title" and ends at the
// next level-1 or level-2 heading. Other level-2 headings, such as
// "## SOP Appendix: Template Fields", are not SOPs. Level-3 headings are
// the template fields, matched without regard to case: "Purpose & Scope"
// (or "Purpose and Scope"), "Roles", "Preconditions", "Procedure",
// "Records", "Review Cadence" and "Revision History". Lint reports every
// field an SOP lacks or leaves empty.
//
// Roles is a list of "**Title:** who" entries. "A and B" makes a role that
// needs every member (JoinAll), "A or B" one that any member fills
// (JoinAny), and a trailing parenthetical becomes the role's Note.
// Preconditions is a list of task items "- [ ] ...". Procedure holds
// level-4 headings "#### Step N: Title", numbered 1, 2, 3 and so on, with
// an optional "(Automated)", "(Manual)" or "(Automated or Manual)" marker.
// A step contains task items, plain bullets with nested bullets, decision
// branches (an entry that starts with a bold label ending in a colon, such
// as "**If approved:**") and code blocks. Texts keep inline code with its
// backticks and the visible text of emphasis and links, and every other
// byte as written.
//
// # Item keys
//
// Each checkbox gets a key that the issue body carries in a hidden marker
// "<!-- sopbot:item=KEY -->": "pre-N" for the Nth precondition and "sS-N"
// for the Nth checkbox of step S, counted in document order across the
// whole step, nested ones included. Rewording an item keeps its key, but
// inserting or removing an item renumbers the items after it, so such an
// edit is a new revision of the SOP. The approval step also carries one
// generated item "approve-<member>" per member of the approval role, such
// as "approve-ml-lead".
//
// # Binding
//
// A library file starts with YAML front matter, a Binding, that says what
// Markdown cannot: the command that opens a request and its parameters,
// the issue title and lock target templates, who ticks each section
// ("pre" or "step-N"), which items the bot checks itself, which step is
// the approval gate and what runs once it opens. LoadLibrary decodes the
// front matter strictly and checks it against the SOP, reporting every
// problem as "file:line: what is wrong and what to do". A section without
// a rule is ticked by the requester when it has items, and needs no tick
// when it has none. The approval section without a rule is ticked by the
// approval role's members.
//
// # Issue bodies
//
// Render writes an issue body whose first line is the request marker and
// whose checkbox lines end in item markers. ReadChecklist and SetChecked
// read the body as GitHub renders it, so a copy of a checkbox inside a
// code block, an HTML block or a block quote is neither read nor changed.
package sop
