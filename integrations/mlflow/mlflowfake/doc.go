// Package mlflowfake is an in-memory MLflow tracking server for tests. It
// serves the registry, runs/get and artifacts/list endpoints that package
// mlflow calls, and the /get-artifact download route, with MLflow's JSON
// shapes and error codes, on a loopback port, and shows each request as a
// readable line in Calls.
//
// The fake rejects with 400 a POST whose Content-Type is not
// application/json and a version sent as a JSON number, so client bugs of
// that kind fail tests. NOTE: these checks are strict on purpose, and a real
// MLflow server may accept some of these requests.
//
// The fake does not model users, permissions, registration status changes,
// deletion, MLflow's alias name rules, metric history, run search or
// artifact uploads. FailNext and RequireAuthorization
// simulate server-side failures instead.
package mlflowfake
