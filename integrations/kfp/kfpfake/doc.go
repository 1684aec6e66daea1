// Package kfpfake is an in-memory Kubeflow Pipelines API server for tests.
// It serves the v2beta1 run endpoints that package kfp calls, POST
// /apis/v2beta1/runs, GET /apis/v2beta1/runs with filter and paging, GET
// /apis/v2beta1/runs/{run_id} and POST /apis/v2beta1/runs/{run_id}:terminate,
// on a loopback port, and shows each request as a readable line in Calls.
//
// The fake checks a create body against the v2beta1Run schema of the
// embedded run.swagger.json from kubeflow/pipelines. It rejects with 400
// and a googleRpcStatus body a field the schema does not have, a value of
// the wrong JSON type and an output-only field. It also rejects a missing
// display_name, runtime_config or pipeline reference, the deprecated
// pipeline_version_id field and the deprecated experiment_id query
// parameter. Field names must be snake_case as the swagger spells them.
// NOTE: these checks are strict on purpose, and a real API server accepts
// some of these requests, such as lowerCamelCase names.
//
// A created run starts PENDING, and each GET of the run moves it one step
// before the response: the first GET returns RUNNING and the second the
// run's outcome, which is SUCCEEDED unless SetOutcome sets another. Listing does
// not move runs. Run IDs are "run-0001", "run-0002" and so on, where a
// real server uses UUIDs.
//
// Terminating a PENDING, RUNNING or PAUSED run moves it to CANCELING, and
// the next GET moves it to CANCELED, or a later one after
// SetCancelingGets. Terminating a run in any other state fails with 400
// INVALID_ARGUMENT and a missing run with 404 NOT_FOUND, as on the API
// server.
//
// The fake does not model experiments, pipelines, namespaces, users,
// sort_by, or the retry, archive, unarchive and delete endpoints. A
// listing's namespace parameter is recorded in Calls and otherwise
// ignored. FailNext, DropResponseNext, Hold and RequireToken
// simulate server-side failures instead.
package kfpfake
