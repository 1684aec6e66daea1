package mlflow

// ModelVersion is one version of a registered model.
type ModelVersion struct {
	Name    string
	Version string
	// CurrentStage is None, Staging, Production or Archived.
	CurrentStage string
	RunID        string
	// Source is the artifact URI the version was registered from.
	Source string
	// Status is PENDING_REGISTRATION, FAILED_REGISTRATION or READY.
	Status      string
	Description string
	// CreationTimestamp and LastUpdatedTimestamp are Unix milliseconds.
	CreationTimestamp    int64
	LastUpdatedTimestamp int64
	Tags                 map[string]string
	// Aliases lists the alias names that point at this version.
	Aliases []string
	RunLink string
}

// RegisteredModel is a named model in the registry.
type RegisteredModel struct {
	Name string
	// LatestVersions holds the newest version in each stage.
	LatestVersions []ModelVersion
	// Aliases maps each alias name to the version it points at.
	Aliases map[string]string
	Tags    map[string]string
}

// wireTag is a {key, value} tag as MLflow sends it.
type wireTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// wireAlias is a registered model alias as MLflow sends it.
type wireAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// wireModelVersion is the JSON form of a ModelVersion.
type wireModelVersion struct {
	Name                 string    `json:"name"`
	Version              string    `json:"version"`
	CreationTimestamp    int64     `json:"creation_timestamp"`
	LastUpdatedTimestamp int64     `json:"last_updated_timestamp"`
	CurrentStage         string    `json:"current_stage"`
	Description          string    `json:"description"`
	Source               string    `json:"source"`
	RunID                string    `json:"run_id"`
	Status               string    `json:"status"`
	Tags                 []wireTag `json:"tags"`
	RunLink              string    `json:"run_link"`
	Aliases              []string  `json:"aliases"`
}

// wireRegisteredModel is the JSON form of a RegisteredModel.
type wireRegisteredModel struct {
	Name           string             `json:"name"`
	LatestVersions []wireModelVersion `json:"latest_versions"`
	Tags           []wireTag          `json:"tags"`
	Aliases        []wireAlias        `json:"aliases"`
}

func (w wireModelVersion) toModelVersion() ModelVersion {
	return ModelVersion{
		Name:                 w.Name,
		Version:              w.Version,
		CurrentStage:         w.CurrentStage,
		RunID:                w.RunID,
		Source:               w.Source,
		Status:               w.Status,
		Description:          w.Description,
		CreationTimestamp:    w.CreationTimestamp,
		LastUpdatedTimestamp: w.LastUpdatedTimestamp,
		Tags:                 tagMap(w.Tags),
		Aliases:              w.Aliases,
		RunLink:              w.RunLink,
	}
}

func (w wireRegisteredModel) toRegisteredModel() RegisteredModel {
	model := RegisteredModel{
		Name:    w.Name,
		Tags:    tagMap(w.Tags),
		Aliases: make(map[string]string, len(w.Aliases)),
	}
	for _, version := range w.LatestVersions {
		model.LatestVersions = append(model.LatestVersions, version.toModelVersion())
	}
	for _, alias := range w.Aliases {
		model.Aliases[alias.Alias] = alias.Version
	}
	return model
}

// tagMap converts a tag list to a map; a later duplicate key wins. It never
// returns nil, so callers can read any key.
func tagMap(tags []wireTag) map[string]string {
	result := make(map[string]string, len(tags))
	for _, tag := range tags {
		result[tag.Key] = tag.Value
	}
	return result
}
