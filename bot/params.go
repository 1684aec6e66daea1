package bot

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/sop"
)

var (
	// Model names are limited to characters that need no escaping in a URL,
	// a Markdown table or an MLflow filter string.
	modelNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	versionPattern   = regexp.MustCompile(`^[1-9][0-9]{0,9}$`)
	// MLflow alias names: letters, digits, '_' and '-'.
	aliasPattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)
	reservedAlias  = regexp.MustCompile(`^(?i:latest|v[0-9]+)$`)
	k8sNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

// validateParams applies defaults and checks every value against its kind,
// before any outside call sees it.
func validateParams(specs []sop.Param, values map[string]string) (map[string]string, error) {
	var missing []string
	for _, spec := range specs {
		if values[spec.Name] == "" && spec.Default == "" {
			missing = append(missing, "<"+spec.Name+">")
		}
	}
	if len(missing) > 0 {
		return nil, problemf("Missing %s.", strings.Join(missing, ", "))
	}
	out := map[string]string{}
	for _, spec := range specs {
		value, ok := values[spec.Name]
		if !ok || value == "" {
			value = spec.Default
		}
		checked, err := checkParam(spec, value)
		if err != nil {
			return nil, err
		}
		out[spec.Name] = checked
	}
	return out, nil
}

func checkParam(spec sop.Param, value string) (string, error) {
	shown := quoteInput(value, 40)
	if !utf8.ValidString(value) {
		return "", problemf("<%s> is not valid UTF-8.", spec.Name)
	}
	// The k8s-name and text cases below word their own length limit.
	if spec.MaxLength > 0 && len(value) > spec.MaxLength && spec.Kind != sop.KindK8sName && spec.Kind != sop.KindText {
		return "", problemf("Invalid value %s for <%s>: use at most %d characters.", shown, spec.Name, spec.MaxLength)
	}
	switch spec.Kind {
	case sop.KindModelName:
		if !modelNamePattern.MatchString(value) {
			return "", problemf("Invalid model name %s: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.", shown)
		}
	case sop.KindModelVersion:
		value = strings.TrimPrefix(strings.TrimPrefix(value, "v"), "V")
		if !versionPattern.MatchString(value) {
			return "", problemf("Invalid model version %s: use the version number MLflow shows, such as 3.", shown)
		}
	case sop.KindStageOrAlias:
		return checkTarget(value)
	case sop.KindK8sName:
		limit := maxLength(spec, 63)
		if !k8sNamePattern.MatchString(value) || len(value) > limit {
			return "", problemf("Invalid name %s for <%s>: use at most %d lowercase letters, digits or '-', starting and ending with a letter or digit.", shown, spec.Name, limit)
		}
	default:
		limit := maxLength(spec, 200)
		if strings.ContainsAny(value, "\n\r`<>|") || utf8.RuneCountInString(value) > limit {
			return "", problemf("Invalid value %s for <%s>: use at most %d characters without newlines, backticks, '<', '>' or '|'.", shown, spec.Name, limit)
		}
	}
	return value, nil
}

// maxLength returns the parameter's MaxLength when it is set and below
// limit, the kind's own limit, and limit otherwise.
func maxLength(spec sop.Param, limit int) int {
	if spec.MaxLength > 0 && spec.MaxLength < limit {
		return spec.MaxLength
	}
	return limit
}

// checkTarget accepts the stages a version can be promoted to and MLflow
// alias names.
func checkTarget(value string) (string, error) {
	if stage, ok := mlflow.CanonicalStage(value); ok {
		if stage == "None" || stage == "Archived" {
			return "", problemf("Cannot promote to stage %s: use Staging, Production or an alias such as champion.", stage)
		}
		return stage, nil
	}
	if !aliasPattern.MatchString(value) || reservedAlias.MatchString(value) {
		return "", problemf("Invalid target %s: use Staging, Production or an alias of letters, digits, '_' or '-' (not \"latest\" or v<number>).", quoteInput(value, 40))
	}
	return value, nil
}
