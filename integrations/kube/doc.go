// Package kube performs the Kubernetes work of sopbot's standard operating
// procedures once a request is approved: onboarding a project namespace,
// running Feast jobs and rotating a Deployment's Secret.
//
// Each action runs inside a job that may be retried after a crash, so each
// one reads the current state first and is idempotent, keyed by the request
// id. Objects the package creates carry the labels
// app.kubernetes.io/managed-by=sopbot and sopbot.dev/request=<request id>. On
// a retry an object with this request's label counts as done, and an object
// of the same name without it is never taken over: the action returns a
// permanent error that names the object and the label it found.
//
// Every action that writes comes in two steps. A Plan function reads the
// cluster and returns the calls it would make, which Plan.String prints for a
// dry run without any Secret value. Client.Apply makes those calls and checks
// each object again just before its call. The one-step functions, such as
// Onboard and Repoint, plan and apply in a single call.
//
// IsPermanent reports whether the caller should cancel the job or retry it.
package kube
