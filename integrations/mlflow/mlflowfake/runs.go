package mlflowfake

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

// downloadPath is the artifact download route, served beside the REST API
// as MLflow's tracking server does.
const downloadPath = "/get-artifact"

// datasetContextTag is the dataset input tag that carries
// mlflow.DatasetInput.Context.
const datasetContextTag = "mlflow.data.context"

// artifactContent is a handler response sent as raw bytes instead of JSON.
type artifactContent []byte

// AddRun stores a copy of run, replacing any run with the same ID. An empty
// ExperimentID becomes "0", an empty Status becomes FINISHED and an empty
// ArtifactURI becomes "mlflow-artifacts:/<experiment>/<run>/artifacts". A
// dataset's Context is sent as its mlflow.data.context tag. It panics when
// run.ID is empty.
func (f *Fake) AddRun(run mlflow.Run) {
	if run.ID == "" {
		panic("mlflowfake: AddRun: run ID is required")
	}
	if run.ExperimentID == "" {
		run.ExperimentID = "0"
	}
	if run.Status == "" {
		run.Status = "FINISHED"
	}
	if run.ArtifactURI == "" {
		run.ArtifactURI = "mlflow-artifacts:/" + run.ExperimentID + "/" + run.ID + "/artifacts"
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	stored := cloneRun(run)
	f.runs[run.ID] = &stored
}

// Run returns a copy of the run runID as AddRun stored it, and false if it
// does not exist.
func (f *Fake) Run(runID string) (mlflow.Run, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()

	run := f.runs[runID]
	if run == nil {
		return mlflow.Run{}, false
	}
	return cloneRun(*run), true
}

// AddArtifact stores data as the file path in the artifacts of run runID,
// replacing an existing file. Directories are implied by the path, so
// "model/data/model.pkl" also creates "model" and "model/data". It panics
// when the run does not exist, when path is empty, absolute or contains an
// empty, "." or ".." segment, and when a file and a directory would share
// a path.
func (f *Fake) AddArtifact(runID, path string, data []byte) {
	if err := checkStoredPath(path); err != nil {
		panic(fmt.Sprintf("mlflowfake: AddArtifact(%q, %q): %v", runID, path, err))
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.runs[runID] == nil {
		panic(fmt.Sprintf("mlflowfake: AddArtifact(%q, %q): unknown run, call AddRun first", runID, path))
	}
	files := f.artifacts[runID]
	if files == nil {
		files = map[string][]byte{}
		f.artifacts[runID] = files
	}
	if conflict, ok := pathConflict(files, path); ok {
		panic(fmt.Sprintf("mlflowfake: AddArtifact(%q, %q): conflicts with artifact %q", runID, path, conflict))
	}
	files[path] = slices.Clone(data)
}

// SetVersionRun sets the run ID and source of version of model name. An
// empty source becomes "runs:/<runID>/model". The run need not exist. It
// panics when the version does not exist.
func (f *Fake) SetVersionRun(name, version, runID, source string) {
	if source == "" {
		source = "runs:/" + runID + "/model"
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	registered, apiErr := f.findVersion(name, version)
	if apiErr != nil {
		panic(fmt.Sprintf("mlflowfake: SetVersionRun(%q, %q): %s", name, version, apiErr.message))
	}
	mv := registered.versions[version]
	mv.RunID = runID
	mv.Source = source
}

// SetArtifactPageSize sets how many entries an artifacts/list page holds,
// so tests can exercise paging.
func (f *Fake) SetArtifactPageSize(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.artifactPageSize = n
}

func cloneRun(run mlflow.Run) mlflow.Run {
	run.Metrics = maps.Clone(run.Metrics)
	run.Params = maps.Clone(run.Params)
	run.Tags = maps.Clone(run.Tags)
	run.Datasets = slices.Clone(run.Datasets)
	for i := range run.Datasets {
		run.Datasets[i].Tags = maps.Clone(run.Datasets[i].Tags)
	}
	return run
}

// checkStoredPath accepts a clean relative path with no empty, "." or ".."
// segment and no backslash.
func checkStoredPath(path string) error {
	if path == "" || strings.Contains(path, `\`) {
		return errors.New("invalid artifact path")
	}
	for _, segment := range strings.Split(path, "/") {
		if segment == "" || segment == "." || segment == ".." {
			return fmt.Errorf("invalid artifact path segment %q", segment)
		}
	}
	return nil
}

// pathConflict returns a stored file that is a parent of path, or a stored
// file below path, either of which would make one path both a file and a
// directory.
func pathConflict(files map[string][]byte, path string) (string, bool) {
	for stored := range files {
		if strings.HasPrefix(path, stored+"/") || strings.HasPrefix(stored, path+"/") {
			return stored, true
		}
	}
	return "", false
}
