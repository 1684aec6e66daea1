package mlflowfake

import (
	"encoding/json"
	"maps"
	"math"
	"sort"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

type wireRun struct {
	Info   wireRunInfo   `json:"info"`
	Data   wireRunData   `json:"data"`
	Inputs wireRunInputs `json:"inputs"`
}

type wireRunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name,omitempty"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id,omitempty"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time,omitempty"`
	EndTime        int64  `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type wireRunData struct {
	Metrics []wireMetric `json:"metrics,omitempty"`
	Params  []wireTag    `json:"params,omitempty"`
	Tags    []wireTag    `json:"tags,omitempty"`
}

type wireMetric struct {
	Key       string      `json:"key"`
	Value     metricValue `json:"value"`
	Timestamp int64       `json:"timestamp"`
	Step      int64       `json:"step"`
}

type wireRunInputs struct {
	DatasetInputs []wireDatasetInput `json:"dataset_inputs,omitempty"`
}

type wireDatasetInput struct {
	Tags    []wireTag   `json:"tags,omitempty"`
	Dataset wireDataset `json:"dataset"`
}

type wireDataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
}

type wireListArtifacts struct {
	RootURI       string         `json:"root_uri"`
	Files         []wireFileInfo `json:"files,omitempty"`
	NextPageToken string         `json:"next_page_token,omitempty"`
}

// wireFileInfo is one artifact listing entry. FileSize is nil for a
// directory, which MLflow sends without file_size.
type wireFileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

// metricValue is a double written as protobuf's JSON mapping writes it:
// NaN and the infinities become the strings "NaN", "Infinity" and
// "-Infinity", which encoding/json cannot produce from a float64.
type metricValue float64

func (v metricValue) MarshalJSON() ([]byte, error) {
	value := float64(v)
	switch {
	case math.IsNaN(value):
		return []byte(`"NaN"`), nil
	case math.IsInf(value, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(value, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(value)
}

// toWireRun returns run as runs/get sends it: one metric entry per key,
// timestamped with the run's start time, and lists sorted by key.
func toWireRun(run mlflow.Run) wireRun {
	wire := wireRun{
		Info: wireRunInfo{
			RunID:          run.ID,
			RunUUID:        run.ID,
			RunName:        run.Name,
			ExperimentID:   run.ExperimentID,
			UserID:         run.UserID,
			Status:         run.Status,
			StartTime:      run.StartTime,
			EndTime:        run.EndTime,
			ArtifactURI:    run.ArtifactURI,
			LifecycleStage: "active",
		},
		Data: wireRunData{Params: tagList(run.Params), Tags: tagList(run.Tags)},
	}

	for key, value := range run.Metrics {
		wire.Data.Metrics = append(wire.Data.Metrics,
			wireMetric{Key: key, Value: metricValue(value), Timestamp: run.StartTime})
	}
	sort.Slice(wire.Data.Metrics, func(i, j int) bool { return wire.Data.Metrics[i].Key < wire.Data.Metrics[j].Key })

	for _, dataset := range run.Datasets {
		wire.Inputs.DatasetInputs = append(wire.Inputs.DatasetInputs, toWireDatasetInput(dataset))
	}
	return wire
}

func toWireDatasetInput(dataset mlflow.DatasetInput) wireDatasetInput {
	tags := maps.Clone(dataset.Tags)
	if dataset.Context != "" {
		if tags == nil {
			tags = map[string]string{}
		}
		tags[datasetContextTag] = dataset.Context
	}

	return wireDatasetInput{
		Tags: tagList(tags),
		Dataset: wireDataset{
			Name:       dataset.Name,
			Digest:     dataset.Digest,
			SourceType: dataset.SourceType,
			Source:     dataset.Source,
		},
	}
}
