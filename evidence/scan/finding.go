package scan

import (
	"encoding/json"
	"fmt"
)

// Severity ranks a finding. The zero value is [Info].
type Severity int

const (
	// Info marks an allowed global or a note that needs no action.
	Info Severity = iota
	// Warning marks an unknown global or a suspicious or corrupt structure.
	Warning
	// Error marks a dangerous global or an embedded secret.
	Error
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes "info", "warning" or "error".
func (s *Severity) UnmarshalText(text []byte) error {
	parsed, err := ParseSeverity(string(text))
	if err != nil {
		return err
	}
	*s = parsed
	return nil
}

// ParseSeverity converts "info", "warning" or "error" to a [Severity].
func ParseSeverity(name string) (Severity, error) {
	switch name {
	case "info":
		return Info, nil
	case "warning":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return Info, fmt.Errorf("invalid severity %q: use info, warning or error", name)
}

// Kind names what a finding is about.
type Kind string

// Finding kinds. KindGlobal and KindSecret carry the module and name or the
// secret kind; every other kind describes the structure of the artifact.
const (
	KindGlobal = Kind("global")
	KindSecret = Kind("secret")

	KindPickleTruncated           = Kind("pickle-truncated")
	KindPickleUnknownOpcode       = Kind("pickle-unknown-opcode")
	KindPickleStackUnderflow      = Kind("pickle-stack-underflow")
	KindPickleMemoMissing         = Kind("pickle-memo-missing")
	KindPickleMissingStop         = Kind("pickle-missing-stop")
	KindPickleTrailingData        = Kind("pickle-trailing-data")
	KindPickleProtocolBump        = Kind("pickle-protocol-bump")
	KindPickleUnsupportedProtocol = Kind("pickle-unsupported-protocol")
	KindPickleFrameMismatch       = Kind("pickle-frame-mismatch")
	KindPickleInvalidArgument     = Kind("pickle-invalid-argument")
	KindPickleUnresolvedGlobal    = Kind("pickle-unresolved-global")
	KindPickleUnresolvedCallable  = Kind("pickle-unresolved-callable")
	KindPickleExtensionCode       = Kind("pickle-extension-code")
	KindPickleLimit               = Kind("pickle-limit")
	KindJoblibArray               = Kind("joblib-array")
	KindLegacyTorch               = Kind("torch-legacy-structure")

	KindZipInvalid           = Kind("zip-invalid")
	KindZipBadCRC            = Kind("zip-bad-crc")
	KindZipEncrypted         = Kind("zip-encrypted")
	KindZipFlags             = Kind("zip-flags")
	KindZipNameMismatch      = Kind("zip-name-mismatch")
	KindZipHeaderMismatch    = Kind("zip-header-mismatch")
	KindZipDuplicateName     = Kind("zip-duplicate-name")
	KindZipOverlap           = Kind("zip-overlap")
	KindZipUnsafeName        = Kind("zip-unsafe-name")
	KindZipDescriptor        = Kind("zip-descriptor-mismatch")
	KindZipSizeMismatch      = Kind("zip-size-mismatch")
	KindZipSizeLimit         = Kind("zip-size-limit")
	KindZipMissingDataPickle = Kind("zip-missing-data-pkl")
	KindZipUnsupportedMethod = Kind("zip-unsupported-method")
	KindZipCorruptMember     = Kind("zip-corrupt-member")
	KindZipUnaccountedBytes  = Kind("zip-unaccounted-bytes")

	KindCompressed     = Kind("compressed-stream")
	KindFindingLimit   = Kind("finding-limit")
	KindInflationLimit = Kind("inflation-limit")
)

// Finding is one observation about an artifact. Offset counts bytes from the
// start of File, or of Member when Member is set (for a zip member, of its
// uncompressed content).
type Finding struct {
	Severity Severity `json:"severity"`
	Kind     Kind     `json:"kind"`
	// Module and Name identify the imported global of a KindGlobal finding.
	Module string `json:"module,omitempty"`
	Name   string `json:"name,omitempty"`
	// Secret is the credential type of a KindSecret finding, such as
	// "aws-access-key-id". The credential itself is never stored.
	Secret string `json:"secret,omitempty"`
	File   string `json:"file"`
	Member string `json:"member,omitempty"`
	Offset int64  `json:"offset"`
	Detail string `json:"detail,omitempty"`
}

// Target returns "module.name" for a global, the secret type for a secret and
// an empty string for a structural finding.
func (f Finding) Target() string {
	switch {
	case f.Kind == KindGlobal:
		return f.Module + "." + f.Name
	case f.Kind == KindSecret:
		return f.Secret
	}
	return ""
}

// Format is the artifact format that content detection chose.
type Format string

// Artifact formats.
const (
	FormatPickle      = Format("pickle")
	FormatJoblib      = Format("joblib")
	FormatTorchZip    = Format("torch-zip")
	FormatZip         = Format("zip")
	FormatTorchLegacy = Format("torch-legacy")
	FormatData        = Format("data")
)

// Report lists the findings for one artifact in the order they were found.
type Report struct {
	File     string    `json:"file"`
	Format   Format    `json:"format"`
	Size     int64     `json:"size"`
	Findings []Finding `json:"findings"`
}

// MaxSeverity returns the highest severity among the findings and false when
// there are none.
func (r *Report) MaxSeverity() (Severity, bool) {
	if len(r.Findings) == 0 {
		return Info, false
	}
	highest := Info
	for _, f := range r.Findings {
		highest = max(highest, f.Severity)
	}
	return highest, true
}

// Flagged reports whether any finding is a warning or an error.
func (r *Report) Flagged() bool {
	s, ok := r.MaxSeverity()
	return ok && s >= Warning
}

// MarshalJSON encodes an empty finding list as [] rather than null.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	return json.Marshal(plain(r))
}
