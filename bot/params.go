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
	shown := clip(value, 40)
	if !utf8.ValidString(value) {
		return "", problemf("<%s> is not valid UTF-8.", spec.Name)
	}
	switch spec.Kind {
	case sop.KindModelName:
		if !modelNamePattern.MatchString(value) {
			return "", problemf("Invalid model name %q: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.", shown)
		}
	case sop.KindModelVersion:
		value = strings.TrimPrefix(strings.TrimPrefix(value, "v"), "V")
		if !versionPattern.MatchString(value) {
			return "", problemf("Invalid model version %q: use the version number MLflow shows, such as 3.", shown)
		}
	case sop.KindStageOrAlias:
		return checkTarget(value)
	case sop.KindK8sName:
		if !k8sNamePattern.MatchString(value) {
			return "", problemf("Invalid name %q for <%s>: use at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit.", shown, spec.Name)
		}
	default:
		if strings.ContainsAny(value, "\n\r`<>|") || utf8.RuneCountInString(value) > 200 {
			return "", problemf("Invalid value %q for <%s>: use at most 200 characters without newlines, backticks, '<', '>' or '|'.", shown, spec.Name)
		}
	}
	return value, nil
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
		return "", problemf("Invalid target %q: use Staging, Production or an alias of letters, digits, '_' or '-' (not \"latest\" or v<number>).", clip(value, 40))
	}
	return value, nil
}
