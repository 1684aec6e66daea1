package mlflowfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

// codeAlreadyExists is MLflow's error code for a name that is taken.
const codeAlreadyExists = "RESOURCE_ALREADY_EXISTS"

// DefaultExperimentID and DefaultExperimentName are the experiment that
// every tracking server starts with, and that the fake creates on first
// use.
const (
	DefaultExperimentID   = "0"
	DefaultExperimentName = "Default"
)

// Experiment tag limits the fake enforces: the sizes that every MLflow
// backend is documented to accept, so a client that passes here works on
// any of them. NOTE: a real server may accept more.
const (
	maxExperimentTagKeyBytes   = 250
	maxExperimentTagValueBytes = 20000
	maxExperimentTagsPerCreate = 20
)

type experiment struct {
	id      string
	name    string
	created int64
	updated int64
	tags    map[string]string
}

// AddExperiment creates the experiment name with a copy of tags and returns
// its ID, the next integer after the largest ID in use. It panics when
// name is empty or taken.
func (f *Fake) AddExperiment(name string, tags map[string]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()

	id, apiErr := f.addExperiment(name, tags)
	if apiErr != nil {
		panic(fmt.Sprintf("mlflowfake: AddExperiment(%q): %s", name, apiErr.message))
	}
	return id
}

// Experiments returns a copy of every experiment, the Default one included,
// ordered by ID as numbers.
func (f *Fake) Experiments() []mlflow.Experiment {
	f.mu.Lock()
	defer f.mu.Unlock()

	stored := f.experimentTable()
	ids := make([]string, 0, len(stored))
	for id := range stored {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return lessNumeric(ids[i], ids[j]) })

	experiments := make([]mlflow.Experiment, 0, len(ids))
	for _, id := range ids {
		experiments = append(experiments, stored[id].toExperiment())
	}
	return experiments
}

// ModelTags returns a copy of the tags of the registered model name, and
// false if the model does not exist.
func (f *Fake) ModelTags(name string) (map[string]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()

	registered := f.models[name]
	if registered == nil {
		return nil, false
	}
	return maps.Clone(registered.tags), true
}

// experimentTable returns the experiments by ID, creating the table with
// the Default experiment on first use. The caller holds f.mu.
func (f *Fake) experimentTable() map[string]*experiment {
	if f.experiments == nil {
		now := time.Now().UnixMilli()
		f.experiments = map[string]*experiment{DefaultExperimentID: {
			id: DefaultExperimentID, name: DefaultExperimentName, created: now, updated: now, tags: map[string]string{},
		}}
	}
	return f.experiments
}

// addExperiment stores a new experiment. The caller holds f.mu.
func (f *Fake) addExperiment(name string, tags map[string]string) (string, *apiError) {
	if name == "" {
		return "", invalidParam("Missing value for required parameter 'name'.")
	}
	stored := f.experimentTable()
	for _, existing := range stored {
		if existing.name == name {
			return "", &apiError{http.StatusBadRequest, codeAlreadyExists,
				fmt.Sprintf("Experiment '%s' already exists.", name)}
		}
	}

	for id := range stored {
		if number, err := strconv.Atoi(id); err == nil && number > f.nextExperimentID {
			f.nextExperimentID = number
		}
	}
	f.nextExperimentID++
	id := strconv.Itoa(f.nextExperimentID)

	now := time.Now().UnixMilli()
	stored[id] = &experiment{id: id, name: name, created: now, updated: now, tags: maps.Clone(tags)}
	if stored[id].tags == nil {
		stored[id].tags = map[string]string{}
	}
	return id, nil
}

func (e *experiment) toExperiment() mlflow.Experiment {
	return mlflow.Experiment{
		ID:               e.id,
		Name:             e.name,
		ArtifactLocation: "mlflow-artifacts:/" + e.id,
		LifecycleStage:   "active",
		CreationTime:     e.created,
		LastUpdateTime:   e.updated,
		Tags:             maps.Clone(e.tags),
	}
}

type wireExperiment struct {
	ExperimentID     string    `json:"experiment_id"`
	Name             string    `json:"name"`
	ArtifactLocation string    `json:"artifact_location"`
	LifecycleStage   string    `json:"lifecycle_stage"`
	LastUpdateTime   int64     `json:"last_update_time"`
	CreationTime     int64     `json:"creation_time"`
	Tags             []wireTag `json:"tags,omitempty"`
}

func (e *experiment) toWire() wireExperiment {
	experiment := e.toExperiment()
	return wireExperiment{
		ExperimentID:     experiment.ID,
		Name:             experiment.Name,
		ArtifactLocation: experiment.ArtifactLocation,
		LifecycleStage:   experiment.LifecycleStage,
		LastUpdateTime:   experiment.LastUpdateTime,
		CreationTime:     experiment.CreationTime,
		Tags:             tagList(experiment.Tags),
	}
}

func (f *Fake) getExperimentByName(_ http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	name, apiErr := requiredQuery(r, "experiment_name")
	if apiErr != nil {
		return "", nil, apiErr
	}
	call := "GET experiments/get-by-name " + name

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, stored := range f.experimentTable() {
		if stored.name == name {
			return call, map[string]any{"experiment": stored.toWire()}, nil
		}
	}
	return call, nil, notFound("Could not find experiment with name '%s'", name)
}

func (f *Fake) createExperiment(w http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	fields, apiErr := readBody(w, r)
	if apiErr != nil {
		return "", nil, apiErr
	}
	name, apiErr := fields.requiredText("name")
	if apiErr != nil {
		return "", nil, apiErr
	}
	call := "POST experiments/create " + name
	if _, ok := fields["artifact_location"]; ok {
		if _, apiErr := fields.text("artifact_location"); apiErr != nil {
			return call, nil, apiErr
		}
	}
	tags, apiErr := fields.tags("tags")
	if apiErr != nil {
		return call, nil, apiErr
	}
	if len(tags) > maxExperimentTagsPerCreate {
		return call, nil, invalidParam("A request may carry at most %d experiment tags, got %d.", maxExperimentTagsPerCreate, len(tags))
	}
	for key, value := range tags {
		if apiErr := checkExperimentTag(key, value); apiErr != nil {
			return call, nil, apiErr
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	id, apiErr := f.addExperiment(name, tags)
	if apiErr != nil {
		return call, nil, apiErr
	}
	return call + " → " + id, map[string]any{"experiment_id": id}, nil
}

func (f *Fake) setExperimentTag(w http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	fields, apiErr := readBody(w, r)
	if apiErr != nil {
		return "", nil, apiErr
	}
	id, apiErr := fields.requiredText("experiment_id")
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
	call := fmt.Sprintf("POST experiments/set-experiment-tag %s %s=%s", id, key, value)
	if apiErr := checkExperimentTag(key, value); apiErr != nil {
		return call, nil, apiErr
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	stored := f.experimentTable()[id]
	if stored == nil {
		return call, nil, notFound("No Experiment with id=%s exists", id)
	}
	stored.tags[key] = value
	stored.updated = time.Now().UnixMilli()
	return call, nil, nil
}

func (f *Fake) setRegisteredModelTag(w http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	fields, apiErr := readBody(w, r)
	if apiErr != nil {
		return "", nil, apiErr
	}
	name, apiErr := fields.requiredText("name")
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
	call := fmt.Sprintf("POST registered-models/set-tag %s %s=%s", name, key, value)

	f.mu.Lock()
	defer f.mu.Unlock()
	registered := f.models[name]
	if registered == nil {
		return call, nil, notFound("Registered Model with name=%s not found", name)
	}
	registered.tags[key] = value
	return call, nil, nil
}

func checkExperimentTag(key, value string) *apiError {
	if key == "" {
		return invalidParam("Missing value for required parameter 'key'.")
	}
	if len(key) > maxExperimentTagKeyBytes {
		return invalidParam("Tag key '%s' is %d bytes, more than the %d the fake allows.", key, len(key), maxExperimentTagKeyBytes)
	}
	if len(value) > maxExperimentTagValueBytes {
		return invalidParam("Value of tag '%s' is %d bytes, more than the %d the fake allows.", key, len(value), maxExperimentTagValueBytes)
	}
	return nil
}

// tags returns the list field key of {key, value} objects as a map. A
// missing or null field gives an empty map, and a later duplicate key
// wins.
func (b body) tags(key string) (map[string]string, *apiError) {
	tags := map[string]string{}
	raw, ok := b[key]
	if !ok || string(raw) == "null" {
		return tags, nil
	}

	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalidParam("Invalid value %s for parameter '%s': must be a list of {key, value} objects", raw, key)
	}
	for _, entry := range list {
		tag := body(entry)
		for field := range tag {
			if field != "key" && field != "value" {
				return nil, invalidParam("Invalid value for parameter '%s': unknown tag field '%s'", key, field)
			}
		}
		tagKey, apiErr := tag.requiredText("key")
		if apiErr != nil {
			return nil, apiErr
		}
		value, apiErr := tag.text("value")
		if apiErr != nil {
			return nil, apiErr
		}
		tags[tagKey] = value
	}
	return tags, nil
}

// lessNumeric orders IDs as numbers when both are integers, and as
// strings otherwise.
func lessNumeric(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA != nil || errB != nil {
		return a < b
	}
	return x < y
}
