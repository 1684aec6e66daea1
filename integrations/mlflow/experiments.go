package mlflow

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
)

// codeAlreadyExists is MLflow's error code for a name that is taken.
const codeAlreadyExists = "RESOURCE_ALREADY_EXISTS"

// Experiment is a tracking experiment.
type Experiment struct {
	ID               string
	Name             string
	ArtifactLocation string
	// LifecycleStage is "active" or "deleted".
	LifecycleStage string
	// CreationTime and LastUpdateTime are Unix milliseconds.
	CreationTime   int64
	LastUpdateTime int64
	Tags           map[string]string
}

// wireExperiment is the JSON form of an Experiment.
type wireExperiment struct {
	ExperimentID     string    `json:"experiment_id"`
	Name             string    `json:"name"`
	ArtifactLocation string    `json:"artifact_location"`
	LifecycleStage   string    `json:"lifecycle_stage"`
	LastUpdateTime   int64     `json:"last_update_time"`
	CreationTime     int64     `json:"creation_time"`
	Tags             []wireTag `json:"tags"`
}

func (w wireExperiment) toExperiment() Experiment {
	return Experiment{
		ID:               w.ExperimentID,
		Name:             w.Name,
		ArtifactLocation: w.ArtifactLocation,
		LifecycleStage:   w.LifecycleStage,
		CreationTime:     w.CreationTime,
		LastUpdateTime:   w.LastUpdateTime,
		Tags:             tagMap(w.Tags),
	}
}

// IsAlreadyExists reports whether err is an APIError with the code
// RESOURCE_ALREADY_EXISTS, which CreateExperiment returns for a name that
// is taken.
func IsAlreadyExists(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Code == codeAlreadyExists
}

// ExperimentURL returns the web UI address of the experiment experimentID.
func (c *Client) ExperimentURL(experimentID string) string {
	return c.uiURL + "/#/experiments/" + url.PathEscape(experimentID)
}

// GetExperimentByName returns the experiment called name. A missing
// experiment gives an error matching ErrNotFound.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (Experiment, error) {
	if name == "" {
		return Experiment{}, fmt.Errorf("getting experiment: %w", invalidArgument("experiment name is required"))
	}

	var resp struct {
		Experiment *wireExperiment `json:"experiment"`
	}
	if err := c.get(ctx, "experiments/get-by-name", url.Values{"experiment_name": {name}}, &resp); err != nil {
		return Experiment{}, fmt.Errorf("getting experiment %q: %w", name, err)
	}
	if resp.Experiment == nil {
		return Experiment{}, fmt.Errorf("getting experiment %q: decoding response: no experiment", name)
	}
	return resp.Experiment.toExperiment(), nil
}

// CreateExperiment creates the experiment name with tags and returns its
// ID. A name that is taken gives an error for which IsAlreadyExists
// reports true.
func (c *Client) CreateExperiment(ctx context.Context, name string, tags map[string]string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("creating experiment: %w", invalidArgument("experiment name is required"))
	}
	if _, ok := tags[""]; ok {
		return "", fmt.Errorf("creating experiment %q: %w", name, invalidArgument("tag key is required"))
	}

	request := struct {
		Name string    `json:"name"`
		Tags []wireTag `json:"tags,omitempty"`
	}{name, sortedTags(tags)}
	var resp struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := c.post(ctx, "experiments/create", request, &resp); err != nil {
		return "", fmt.Errorf("creating experiment %q: %w", name, err)
	}
	if resp.ExperimentID == "" {
		return "", fmt.Errorf("creating experiment %q: decoding response: no experiment_id", name)
	}
	return resp.ExperimentID, nil
}

// SetExperimentTag sets the tag key of the experiment experimentID to
// value, overwriting an existing value.
func (c *Client) SetExperimentTag(ctx context.Context, experimentID, key, value string) error {
	if experimentID == "" {
		return fmt.Errorf("tagging experiment: %w", invalidArgument("experiment ID is required"))
	}
	if key == "" {
		return fmt.Errorf("tagging experiment %s: %w", experimentID, invalidArgument("tag key is required"))
	}

	request := struct {
		ExperimentID string `json:"experiment_id"`
		Key          string `json:"key"`
		Value        string `json:"value"`
	}{experimentID, key, value}
	if err := c.post(ctx, "experiments/set-experiment-tag", request, nil); err != nil {
		return fmt.Errorf("tagging experiment %s with %s: %w", experimentID, key, err)
	}
	return nil
}

// SetRegisteredModelTag sets the tag key of the registered model name to
// value, overwriting an existing value. GetRegisteredModel returns the
// model's tags.
func (c *Client) SetRegisteredModelTag(ctx context.Context, name, key, value string) error {
	if name == "" {
		return fmt.Errorf("tagging model: %w", invalidArgument("model name is required"))
	}
	if key == "" {
		return fmt.Errorf("tagging model %s: %w", name, invalidArgument("tag key is required"))
	}

	request := struct {
		Name  string `json:"name"`
		Key   string `json:"key"`
		Value string `json:"value"`
	}{name, key, value}
	if err := c.post(ctx, "registered-models/set-tag", request, nil); err != nil {
		return fmt.Errorf("tagging model %s with %s: %w", name, key, err)
	}
	return nil
}

// sortedTags returns tags as MLflow's list of {key, value}, sorted by key
// so that requests are reproducible.
func sortedTags(tags map[string]string) []wireTag {
	list := make([]wireTag, 0, len(tags))
	for key, value := range tags {
		list = append(list, wireTag{Key: key, Value: value})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	return list
}
