package mlflow

import "strings"

// Stage names as MLflow spells them. StageNone is the literal string "None".
const (
	StageNone       = "None"
	StageStaging    = "Staging"
	StageProduction = "Production"
	StageArchived   = "Archived"
)

var stages = []string{StageNone, StageStaging, StageProduction, StageArchived}

// ValidStage reports whether s is a stage name exactly as MLflow spells it.
func ValidStage(s string) bool {
	for _, stage := range stages {
		if s == stage {
			return true
		}
	}
	return false
}

// CanonicalStage returns MLflow's spelling of the stage s names, matched
// case-insensitively as MLflow's server does ("production" gives
// "Production"), and false for an unknown stage.
func CanonicalStage(s string) (string, bool) {
	lower := strings.ToLower(s)
	for _, stage := range stages {
		if lower == strings.ToLower(stage) {
			return stage, true
		}
	}
	return "", false
}
