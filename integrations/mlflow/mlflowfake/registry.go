package mlflowfake

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

func (f *Fake) getModelVersion(_ http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	name, apiErr := requiredQuery(r, "name")
	if apiErr != nil {
		return "", nil, apiErr
	}
	version, apiErr := requiredQuery(r, "version")
	if apiErr != nil {
		return "", nil, apiErr
	}
	call := fmt.Sprintf("GET model-versions/get %s v%s", name, version)

	f.mu.Lock()
	defer f.mu.Unlock()
	registered, apiErr := f.findVersion(name, version)
	if apiErr != nil {
		return call, nil, apiErr
	}
	return call, map[string]any{"model_version": toWire(registered.snapshot(version))}, nil
}

func (f *Fake) getByAlias(_ http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	name, apiErr := requiredQuery(r, "name")
	if apiErr != nil {
		return "", nil, apiErr
	}
	alias, apiErr := requiredQuery(r, "alias")
	if apiErr != nil {
		return "", nil, apiErr
	}
	call := fmt.Sprintf("GET registered-models/alias %s@%s", name, alias)

	f.mu.Lock()
	defer f.mu.Unlock()
	registered := f.models[name]
	if registered == nil {
		return call, nil, notFound("Registered Model with name=%s not found", name)
	}
	version, ok := registered.aliases[alias]
	if !ok {
		return call, nil, notFound("Registered model alias %s not found.", alias)
	}
	return call, map[string]any{"model_version": toWire(registered.snapshot(version))}, nil
}

func (f *Fake) getRegisteredModel(_ http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	name, apiErr := requiredQuery(r, "name")
	if apiErr != nil {
		return "", nil, apiErr
	}
	call := "GET registered-models/get " + name

	f.mu.Lock()
	defer f.mu.Unlock()
	registered := f.models[name]
	if registered == nil {
		return call, nil, notFound("Registered Model with name=%s not found", name)
	}
	return call, map[string]any{"registered_model": registered.toWire()}, nil
}

// toWire returns the registered model with the newest version of each
// stage as latest_versions. The caller holds f.mu.
func (m *model) toWire() wireRegisteredModel {
	wire := wireRegisteredModel{Name: m.name, CreationTimestamp: m.created, LastUpdatedTimestamp: m.created,
		Tags: tagList(m.tags)}

	seenStage := map[string]bool{}
	for _, version := range m.sortedVersions() {
		stage := m.versions[version].CurrentStage
		if !seenStage[stage] {
			seenStage[stage] = true
			wire.LatestVersions = append(wire.LatestVersions, toWire(m.snapshot(version)))
		}
	}

	for alias, version := range m.aliases {
		wire.Aliases = append(wire.Aliases, wireAlias{Alias: alias, Version: version})
	}
	sort.Slice(wire.Aliases, func(i, j int) bool { return wire.Aliases[i].Alias < wire.Aliases[j].Alias })
	return wire
}

func (f *Fake) transitionStage(w http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	fields, apiErr := readBody(w, r)
	if apiErr != nil {
		return "", nil, apiErr
	}
	name, version, apiErr := nameAndVersion(fields)
	if apiErr != nil {
		return "", nil, apiErr
	}
	stage, apiErr := fields.requiredText("stage")
	if apiErr != nil {
		return "", nil, apiErr
	}
	archive, apiErr := fields.flag("archive_existing_versions")
	if apiErr != nil {
		return "", nil, apiErr
	}

	call := fmt.Sprintf("POST model-versions/transition-stage %s v%s → %s", name, version, stage)
	if archive {
		call += " (archive existing)"
	}
	canonical, ok := mlflow.CanonicalStage(stage)
	if !ok {
		return call, nil, invalidParam("Invalid Model Version stage: %s. Value must be one of None, Staging, Production, Archived.", stage)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	registered, apiErr := f.findVersion(name, version)
	if apiErr != nil {
		return call, nil, apiErr
	}
	f.moveVersion(registered, version, canonical, archive)
	return call, map[string]any{"model_version": toWire(registered.snapshot(version))}, nil
}

// moveVersion sets the stage of version and, with archive, moves the other
// versions in that stage to Archived. The caller holds f.mu.
func (f *Fake) moveVersion(registered *model, version, stage string, archive bool) {
	now := time.Now()
	f.setStage(registered, version, stage, now)
	if !archive {
		return
	}

	for _, other := range registered.sortedVersions() {
		if other != version && registered.versions[other].CurrentStage == stage {
			f.setStage(registered, other, mlflow.StageArchived, now)
		}
	}
}

func (f *Fake) setStage(registered *model, version, stage string, now time.Time) {
	mv := registered.versions[version]
	f.history[registered.name] = append(f.history[registered.name],
		Transition{Version: version, From: mv.CurrentStage, To: stage, At: now})
	mv.CurrentStage = stage
	mv.LastUpdatedTimestamp = now.UnixMilli()
}

func (f *Fake) setModelVersionTag(w http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	fields, apiErr := readBody(w, r)
	if apiErr != nil {
		return "", nil, apiErr
	}
	name, version, apiErr := nameAndVersion(fields)
	if apiErr != nil {
		return "", nil, apiErr
	}
	key, apiErr := fields.requiredText("key")
	if apiErr != nil {
		return "", nil, apiErr
	}
	value, apiErr := fields.text("value")
	if apiErr != nil {
		return "", nil, apiErr
	}
	call := fmt.Sprintf("POST model-versions/set-tag %s v%s %s=%s", name, version, key, value)

	f.mu.Lock()
	defer f.mu.Unlock()
	registered, apiErr := f.findVersion(name, version)
	if apiErr != nil {
		return call, nil, apiErr
	}
	mv := registered.versions[version]
	if mv.Tags == nil {
		mv.Tags = map[string]string{}
	}
	mv.Tags[key] = value
	return call, nil, nil
}

func (f *Fake) setAlias(w http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	fields, apiErr := readBody(w, r)
	if apiErr != nil {
		return "", nil, apiErr
	}
	name, version, apiErr := nameAndVersion(fields)
	if apiErr != nil {
		return "", nil, apiErr
	}
	alias, apiErr := fields.requiredText("alias")
	if apiErr != nil {
		return "", nil, apiErr
	}
	call := fmt.Sprintf("POST registered-models/alias %s %s → v%s", name, alias, version)

	f.mu.Lock()
	defer f.mu.Unlock()
	registered, apiErr := f.findVersion(name, version)
	if apiErr != nil {
		return call, nil, apiErr
	}
	registered.aliases[alias] = version
	return call, nil, nil
}

// nameAndVersion reads the required name and version fields of a POST.
func nameAndVersion(fields body) (string, string, *apiError) {
	name, apiErr := fields.requiredText("name")
	if apiErr != nil {
		return "", "", apiErr
	}
	version, apiErr := fields.requiredText("version")
	if apiErr != nil {
		return "", "", apiErr
	}
	return name, version, nil
}

// findVersion returns the model holding version, or MLflow's not-found
// error. The caller holds f.mu.
func (f *Fake) findVersion(name, version string) (*model, *apiError) {
	registered := f.models[name]
	if registered == nil || registered.versions[version] == nil {
		return nil, notFound("Model Version (name=%s, version=%s) not found", name, version)
	}
	return registered, nil
}
