package mlflow

import (
	"errors"
	"net/http"
	"strings"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// transitionAttempts is how many times TransitionStage sends the transition
// when its outcome stays unknown.
const transitionAttempts = 3

// replayablePosts are the POST endpoints that a repeat cannot change:
// runs/search reads, and the others set a tag or an alias to a value.
var replayablePosts = []string{
	"/runs/search",
	"/model-versions/set-tag",
	"/registered-models/set-tag",
	"/registered-models/alias",
	"/experiments/set-experiment-tag",
}

// retryRules are the MLflow API's retry rules. Reads and replayablePosts
// are replayable. A stage transition is not, because MLflow records each
// one in the version's history, so TransitionStage checks the stage
// instead. Creating an experiment is not either.
func retryRules() httpretry.Rules {
	return httpretry.Rules{
		Replayable: func(r *http.Request) bool {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return true
			}
			for _, endpoint := range replayablePosts {
				if strings.HasSuffix(r.URL.Path, endpoint) {
					return true
				}
			}
			return false
		},
	}
}

// outcomeUnknown reports whether a failed write may have taken effect: a
// 5xx response, or no usable response for a reason other than a request
// that was never sent or an argument rejected before sending.
func outcomeUnknown(err error) bool {
	var invalid *invalidArgumentError
	if httpretry.NotSent(err) || errors.As(err, &invalid) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode >= http.StatusInternalServerError
	}
	return true
}
