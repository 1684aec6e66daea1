// Package kfp is a client for the run endpoints of the Kubeflow Pipelines
// v2beta1 REST API (/apis/v2beta1/runs). It starts a run of an uploaded
// pipeline version, finds an earlier run by its display name, reads a
// run's state and terminates an active run.
//
// The wire format is the API server's grpc-gateway JSON mapping, as the
// generated run.swagger.json of kubeflow/pipelines describes it: bodies
// are application/json with snake_case field names, a run's parameters
// are JSON values, timestamps are RFC 3339 strings, and errors are a
// googleRpcStatus, {"code": <google.rpc.Code>, "message": "..."}. Unknown
// response fields are ignored.
//
// KFP has no create-if-absent call, so EnsureRun lists runs by display
// name before it creates one. A caller that retries after a crash finds
// the run it started before instead of starting a second one, as long as
// it keeps the display name. IsPermanent and RetryAfter classify errors
// for the caller's retry loop.
package kfp
