package mlflow

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// modelVersionResponse is the body of every call that returns one version.
type modelVersionResponse struct {
	ModelVersion *wireModelVersion `json:"model_version"`
}

// GetModelVersion returns version of the registered model name. A missing
// model or version gives an error matching ErrNotFound.
func (c *Client) GetModelVersion(ctx context.Context, name, version string) (ModelVersion, error) {
	if err := requireNameVersion(name, version); err != nil {
		return ModelVersion{}, fmt.Errorf("getting %s v%s: %w", name, version, err)
	}

	query := url.Values{"name": {name}, "version": {version}}
	mv, err := c.getModelVersion(ctx, "model-versions/get", query)
	if err != nil {
		return ModelVersion{}, fmt.Errorf("getting %s v%s: %w", name, version, err)
	}
	return mv, nil
}

// GetModelVersionByAlias returns the version that alias of the registered
// model name points at. A missing model or alias gives an error matching
// ErrNotFound.
func (c *Client) GetModelVersionByAlias(ctx context.Context, name, alias string) (ModelVersion, error) {
	if name == "" || alias == "" {
		return ModelVersion{}, fmt.Errorf("getting %s@%s: %w", name, alias,
			invalidArgument("model name and alias are required"))
	}

	query := url.Values{"name": {name}, "alias": {alias}}
	mv, err := c.getModelVersion(ctx, "registered-models/alias", query)
	if err != nil {
		return ModelVersion{}, fmt.Errorf("getting %s@%s: %w", name, alias, err)
	}
	return mv, nil
}

func (c *Client) getModelVersion(ctx context.Context, endpoint string, query url.Values) (ModelVersion, error) {
	var resp modelVersionResponse
	if err := c.get(ctx, endpoint, query, &resp); err != nil {
		return ModelVersion{}, err
	}
	if resp.ModelVersion == nil {
		return ModelVersion{}, fmt.Errorf("decoding response: no model_version in %s response", endpoint)
	}
	return resp.ModelVersion.toModelVersion(), nil
}

// GetRegisteredModel returns the registered model name with its latest
// versions, aliases and tags.
func (c *Client) GetRegisteredModel(ctx context.Context, name string) (RegisteredModel, error) {
	if name == "" {
		return RegisteredModel{}, fmt.Errorf("getting model: %w", invalidArgument("model name is required"))
	}

	var resp struct {
		RegisteredModel *wireRegisteredModel `json:"registered_model"`
	}
	if err := c.get(ctx, "registered-models/get", url.Values{"name": {name}}, &resp); err != nil {
		return RegisteredModel{}, fmt.Errorf("getting model %s: %w", name, err)
	}
	if resp.RegisteredModel == nil {
		return RegisteredModel{}, fmt.Errorf("getting model %s: decoding response: no registered_model", name)
	}
	return resp.RegisteredModel.toRegisteredModel(), nil
}

// TransitionStage moves version of model name to stage and returns the
// updated version. The stage is matched case-insensitively and sent in
// MLflow's spelling, and an unknown stage is rejected without a request. With
// archiveExisting, MLflow moves the versions already in stage to Archived.
//
// When the request fails in a way that leaves its outcome unknown, such as
// a 5xx response or a lost connection, TransitionStage reads the version
// and sends the transition again only when the version is not in stage.
// The error of a call whose outcome stayed unknown wraps an
// *httpretry.UnknownOutcomeError.
func (c *Client) TransitionStage(ctx context.Context, name, version, stage string, archiveExisting bool) (ModelVersion, error) {
	canonical, ok := CanonicalStage(stage)
	if !ok {
		return ModelVersion{}, fmt.Errorf("transitioning %s v%s: %w", name, version,
			invalidArgument("unknown stage %q, want None, Staging, Production or Archived", stage))
	}
	if err := requireNameVersion(name, version); err != nil {
		return ModelVersion{}, fmt.Errorf("transitioning %s v%s: %w", name, version, err)
	}

	request := struct {
		Name                    string `json:"name"`
		Version                 string `json:"version"`
		Stage                   string `json:"stage"`
		ArchiveExistingVersions bool   `json:"archive_existing_versions"`
	}{name, version, canonical, archiveExisting}
	send := func(ctx context.Context) (ModelVersion, error) {
		var resp modelVersionResponse
		if err := c.post(ctx, "model-versions/transition-stage", request, &resp); err != nil {
			return ModelVersion{}, err
		}
		if resp.ModelVersion == nil {
			return ModelVersion{}, errors.New("decoding response: no model_version")
		}
		return resp.ModelVersion.toModelVersion(), nil
	}
	find := func(ctx context.Context) (ModelVersion, bool, error) {
		mv, err := c.GetModelVersion(ctx, name, version)
		if err != nil {
			return ModelVersion{}, false, fmt.Errorf("reading the version after a transition with an unknown outcome: %w", err)
		}
		return mv, mv.CurrentStage == canonical, nil
	}
	mv, err := httpretry.Once(ctx, transitionAttempts, send, find, outcomeUnknown)
	if err != nil {
		return ModelVersion{}, fmt.Errorf("transitioning %s v%s: %w", name, version, err)
	}
	return mv, nil
}

// SetModelVersionTag sets the tag key of version of model name to value,
// overwriting an existing value.
func (c *Client) SetModelVersionTag(ctx context.Context, name, version, key, value string) error {
	if err := requireNameVersion(name, version); err != nil {
		return fmt.Errorf("tagging %s v%s: %w", name, version, err)
	}
	if key == "" {
		return fmt.Errorf("tagging %s v%s: %w", name, version, invalidArgument("tag key is required"))
	}

	request := struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Key     string `json:"key"`
		Value   string `json:"value"`
	}{name, version, key, value}
	if err := c.post(ctx, "model-versions/set-tag", request, nil); err != nil {
		return fmt.Errorf("tagging %s v%s with %s: %w", name, version, key, err)
	}
	return nil
}

// SetAlias points alias of model name at version, moving it from any other
// version.
func (c *Client) SetAlias(ctx context.Context, name, alias, version string) error {
	if err := requireNameVersion(name, version); err != nil {
		return fmt.Errorf("setting alias %s of %s to v%s: %w", alias, name, version, err)
	}
	if alias == "" {
		return fmt.Errorf("setting alias of %s to v%s: %w", name, version, invalidArgument("alias is required"))
	}

	request := struct {
		Name    string `json:"name"`
		Alias   string `json:"alias"`
		Version string `json:"version"`
	}{name, alias, version}
	if err := c.post(ctx, "registered-models/alias", request, nil); err != nil {
		return fmt.Errorf("setting alias %s of %s to v%s: %w", alias, name, version, err)
	}
	return nil
}

func requireNameVersion(name, version string) error {
	if name == "" || version == "" {
		return invalidArgument("model name and version are required")
	}
	return nil
}
