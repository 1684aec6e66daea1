package mlflow

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
)

// datasetContextTag is the dataset input tag that names the dataset's role
// in the run, such as "training" or "eval".
const datasetContextTag = "mlflow.data.context"

// Run tags that GetRun reads when RunInfo's run_name or deprecated user_id
// is empty.
const (
	runNameTag = "mlflow.runName"
	runUserTag = "mlflow.user"
)

// Run is a tracking run with its data and dataset inputs.
type Run struct {
	ID           string
	Name         string
	ExperimentID string
	// Status is RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.
	Status      string
	ArtifactURI string
	UserID      string
	// StartTime and EndTime are Unix milliseconds. EndTime is 0 while the
	// run is active.
	StartTime int64
	EndTime   int64
	// Metrics maps each metric key to its latest value, as runs/get
	// returns it. A non-finite value is NaN or ±Inf.
	Metrics  map[string]float64
	Params   map[string]string
	Tags     map[string]string
	Datasets []DatasetInput
}

// DatasetInput is a dataset that a run logged as an input.
type DatasetInput struct {
	Name   string
	Digest string
	// SourceType names the kind of place the dataset was read from.
	SourceType string
	// Source describes that place, in the form the server stores.
	Source string
	// Context is the value of the mlflow.data.context tag, such as
	// "training", or "" when the tag is absent.
	Context string
	// Tags contains every input tag, mlflow.data.context included.
	Tags map[string]string
}

// GetRun returns the run runID. A missing run gives an error matching
// ErrNotFound.
func (c *Client) GetRun(ctx context.Context, runID string) (Run, error) {
	if runID == "" {
		return Run{}, fmt.Errorf("getting run: %w", invalidArgument("run ID is required"))
	}

	var resp struct {
		Run *wireRun `json:"run"`
	}
	if err := c.get(ctx, "runs/get", url.Values{"run_id": {runID}}, &resp); err != nil {
		return Run{}, fmt.Errorf("getting run %s: %w", runID, err)
	}
	if resp.Run == nil {
		return Run{}, fmt.Errorf("getting run %s: decoding response: no run", runID)
	}
	return resp.Run.toRun(), nil
}

// wireRun is the JSON form of a Run.
type wireRun struct {
	Info struct {
		RunID        string `json:"run_id"`
		RunUUID      string `json:"run_uuid"`
		RunName      string `json:"run_name"`
		ExperimentID string `json:"experiment_id"`
		UserID       string `json:"user_id"`
		Status       string `json:"status"`
		StartTime    int64  `json:"start_time"`
		EndTime      int64  `json:"end_time"`
		ArtifactURI  string `json:"artifact_uri"`
	} `json:"info"`
	Data struct {
		Metrics []wireMetric `json:"metrics"`
		Params  []wireTag    `json:"params"`
		Tags    []wireTag    `json:"tags"`
	} `json:"data"`
	Inputs struct {
		DatasetInputs []wireDatasetInput `json:"dataset_inputs"`
	} `json:"inputs"`
}

// wireMetric is one logged metric value.
type wireMetric struct {
	Key       string      `json:"key"`
	Value     metricValue `json:"value"`
	Timestamp int64       `json:"timestamp"`
	Step      int64       `json:"step"`
}

// wireDatasetInput is the JSON form of a DatasetInput. The dataset's schema
// and profile are not decoded.
type wireDatasetInput struct {
	Tags    []wireTag `json:"tags"`
	Dataset struct {
		Name       string `json:"name"`
		Digest     string `json:"digest"`
		SourceType string `json:"source_type"`
		Source     string `json:"source"`
	} `json:"dataset"`
}

// metricValue is a double as protobuf's JSON mapping writes it: a number,
// or one of the strings "NaN", "Infinity" and "-Infinity" for the values
// JSON numbers cannot express.
type metricValue float64

func (v *metricValue) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		var number float64
		if err := json.Unmarshal(data, &number); err != nil {
			return fmt.Errorf("metric value %s is neither a number nor a string", data)
		}
		*v = metricValue(number)
		return nil
	}

	switch text {
	case "NaN":
		*v = metricValue(math.NaN())
	case "Infinity":
		*v = metricValue(math.Inf(1))
	case "-Infinity":
		*v = metricValue(math.Inf(-1))
	default:
		number, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return fmt.Errorf("invalid metric value %q", text)
		}
		*v = metricValue(number)
	}
	return nil
}

func (w *wireRun) toRun() Run {
	run := Run{
		ID:           w.Info.RunID,
		Name:         w.Info.RunName,
		ExperimentID: w.Info.ExperimentID,
		Status:       w.Info.Status,
		ArtifactURI:  w.Info.ArtifactURI,
		UserID:       w.Info.UserID,
		StartTime:    w.Info.StartTime,
		EndTime:      w.Info.EndTime,
		Metrics:      latestMetrics(w.Data.Metrics),
		Params:       tagMap(w.Data.Params),
		Tags:         tagMap(w.Data.Tags),
	}
	if run.ID == "" {
		run.ID = w.Info.RunUUID
	}
	if run.Name == "" {
		run.Name = run.Tags[runNameTag]
	}
	if run.UserID == "" {
		run.UserID = run.Tags[runUserTag]
	}

	for _, input := range w.Inputs.DatasetInputs {
		tags := tagMap(input.Tags)
		run.Datasets = append(run.Datasets, DatasetInput{
			Name:       input.Dataset.Name,
			Digest:     input.Dataset.Digest,
			SourceType: input.Dataset.SourceType,
			Source:     input.Dataset.Source,
			Context:    tags[datasetContextTag],
			Tags:       tags,
		})
	}
	return run
}

// latestMetrics keeps one value per key. runs/get already sends one entry
// per key, and for a repeated key this keeps the entry that MLflow's SQL
// store (mlflow/store/tracking/sqlalchemy_store.py, _compare_metrics)
// treats as latest: the larger step, then the later timestamp, then the
// larger value. It never returns nil.
func latestMetrics(metrics []wireMetric) map[string]float64 {
	latest := make(map[string]wireMetric, len(metrics))
	for _, metric := range metrics {
		current, seen := latest[metric.Key]
		if !seen || newerMetric(metric, current) {
			latest[metric.Key] = metric
		}
	}

	values := make(map[string]float64, len(latest))
	for key, metric := range latest {
		values[key] = float64(metric.Value)
	}
	return values
}

func newerMetric(a, b wireMetric) bool {
	if a.Step != b.Step {
		return a.Step > b.Step
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	return float64(a.Value) > float64(b.Value)
}
