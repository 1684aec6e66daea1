// Package k8stest runs a real Kubernetes control plane for tests: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok, which
// acts as the kubelet of one fake Node. Deployments roll out, Jobs
// complete and RBAC is enforced as on a real cluster, although no container
// ever runs: kwok only writes the Pod status that a kubelet would.
//
// The binaries come from scripts/k8s/build-control-plane.sh, which builds them
// into .cache/k8s/bin at the repository root, or from the directory in
// SOPBOT_K8S_BIN. Without them Start skips the test, unless
// SOPBOT_K8S_REQUIRED=1, as in CI, makes it fail.
//
// Start cost, measured on an idle 2-core, 24 GiB machine: 2 to 4 s until the
// Node is Ready, and about 600 MB of resident memory for the five processes,
// of which the API server takes about 280 MB and etcd about 45 MB. Tests that can share a cluster should start one
// and run subtests against it.
package k8stest
