// Package mlflow is a client for the parts of the MLflow REST API
// (/api/2.0/mlflow/) that sopbot uses: reading model versions, moving them
// between stages, tagging them and pointing aliases at them, and reading the
// runs they came from with those runs' artifacts. Artifact content comes
// from the tracking server's /get-artifact route, which sits outside the
// REST API path.
//
// The wire format follows MLflow's protobuf JSON mapping: POST bodies are
// application/json, GET fields travel as query parameters, a model version is
// a JSON string ("3"), timestamps are JSON numbers in Unix milliseconds, and
// errors are {"error_code": "...", "message": "..."}. Unknown response fields
// are ignored. Reference: https://mlflow.org/docs/latest/api_reference/rest-api.html.
package mlflow
