package k8stest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Environment variables that Start reads.
const (
	// BinDirEnv names the directory with the control-plane binaries. When it
	// is unset, Start looks in .cache/k8s/bin at the repository root.
	BinDirEnv = "SOPBOT_K8S_BIN"
	// RequiredEnv set to 1 makes Start fail instead of skip when the binaries
	// are missing.
	RequiredEnv = "SOPBOT_K8S_REQUIRED"
)

// NodeName is the name of the fake Node that kwok keeps Ready.
const NodeName = "k8stest-node"

const (
	buildScript = "scripts/k8s/build-control-plane.sh"
	// startTimeout bounds the whole start-up. It took 2 to 4 s on an idle
	// 2-core machine, and other test packages running in parallel slow it.
	startTimeout = 2 * time.Minute
	stopTimeout  = 10 * time.Second
	pollInterval = 50 * time.Millisecond
	logTailLines = 40

	// kwok manages the Nodes whose annotations match this selector, so a
	// test can still create Nodes that no kubelet serves.
	kwokNodeAnnotation      = "kwok.x-k8s.io/node"
	kwokNodeAnnotationValue = "fake"

	// The service network is virtual: kube-proxy does not run, so nothing
	// routes these addresses.
	serviceClusterIPRange = "10.96.0.0/16"
	// kwok writes Pod IPs from this range into Pod status. A loopback range
	// keeps any connection to a Pod IP on this machine.
	// NOTE: EndpointSlice and Endpoints validation rejects loopback
	// addresses, so Services never get endpoints in this cluster.
	podCIDR = "127.1.0.0/16"
)

// kwokStages are the Stage files, relative to the kwok-stages directory that
// the build script fills, that make kwok act like a kubelet: Nodes become
// Ready and keep a Lease, Pods become Ready, Job Pods complete, and deleted
// Pods go away.
var kwokStages = []string{
	"node/fast/node-initialize.yaml",
	"node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"pod/fast/pod-ready.yaml",
	"pod/fast/pod-complete.yaml",
	"pod/fast/pod-delete.yaml",
}

var binaryNames = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// Cluster is a running control plane. Start stops it when the test ends.
type Cluster struct {
	Config     *rest.Config         // admin, with a static bearer token
	Client     kubernetes.Interface // admin
	Kubeconfig string               // path to an admin kubeconfig file

	t testing.TB
}

// Start starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// and kwok on loopback with one fake Node (NodeName) managed by kwok. It
// returns once the API server is ready, the Node is Ready and the default
// ServiceAccount exists in the default namespace. Every process and its data
// in t.TempDir() are gone when the test ends.
//
// Start skips the test when the binaries are missing, unless
// SOPBOT_K8S_REQUIRED=1. Each call costs about 3 s and 600 MB of memory.
func Start(t testing.TB) *Cluster {
	t.Helper()
	binDir, err := findBinaries()
	if err != nil {
		if os.Getenv(RequiredEnv) == "1" {
			t.Fatalf("%v; run %s (%s=1 makes this an error)", err, buildScript, RequiredEnv)
		}
		t.Skipf("%v; run %s to build them", err, buildScript)
	}

	for attempt := 1; ; attempt++ {
		cp := &controlPlane{t: t, binDir: binDir, dir: t.TempDir(), launcher: newLauncher()}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		cluster, err := cp.start(ctx)
		cancel()
		if err == nil {
			t.Cleanup(cp.stop)
			return cluster
		}
		// freePorts closes its listeners before the servers bind, so a
		// test in another package can take a port in between; the whole
		// stack then starts again on fresh ports.
		if cp.portTaken() && attempt < startAttempts {
			t.Logf("k8stest: a port was taken between picking and binding it (%v); starting again, attempt %d of %d", err, attempt+1, startAttempts)
			cp.tailsLogged = true // the exit is expected; its log tail would only be noise
			cp.stop()
			continue
		}
		cp.logTails()
		cp.stop()
		t.Fatalf("start control plane: %v", err)
	}
}

// startAttempts bounds the starts Start makes when a port is taken.
const startAttempts = 3

// portTaken reports whether a process of a failed start could not bind
// its port.
func (cp *controlPlane) portTaken() bool {
	for _, p := range cp.processes {
		if strings.Contains(p.tail(logTailLines), "address already in use") {
			return true
		}
	}
	return false
}

// As returns a client that impersonates user in groups, so a test can check
// what RBAC allows that user. The API server adds system:authenticated to the
// groups.
func (c *Cluster) As(user string, groups ...string) kubernetes.Interface {
	c.t.Helper()
	config := rest.CopyConfig(c.Config)
	config.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		c.t.Fatalf("create client impersonating %q: %v", user, err)
	}
	return client
}

// findBinaries returns the directory that holds every binary and Stage file,
// or an error that lists what is missing.
func findBinaries() (string, error) {
	dir := os.Getenv(BinDirEnv)
	if dir == "" {
		root, err := repositoryRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, ".cache", "k8s", "bin")
	}
	// The processes run in the temp dir, where a relative path would not
	// resolve.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	var missing []string
	for _, name := range binaryNames {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			missing = append(missing, name)
		}
	}
	for _, stage := range kwokStages {
		if _, err := os.Stat(filepath.Join(dir, "kwok-stages", stage)); err != nil {
			missing = append(missing, "kwok-stages/"+stage)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("control plane binaries not found in %s: missing %s", dir, strings.Join(missing, ", "))
	}
	return dir, nil
}

// repositoryRoot returns the nearest directory above the working directory
// that contains go.mod. go test runs in the package's directory, so that is
// the root of the module under test.
func repositoryRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory; set %s", BinDirEnv)
		}
		dir = parent
	}
}

// controlPlane holds the processes of one cluster while it starts and stops.
type controlPlane struct {
	t         testing.TB
	binDir    string
	dir       string
	launcher  *launcher
	processes []*process
	// tailsLogged is set once logTails has shown every log, so that stop
	// does not show the same lines again.
	tailsLogged bool
}

// ports are the loopback TCP ports of one cluster.
type ports struct {
	etcdClient, etcdPeer, apiServer, controllerManager, scheduler int
}

func (cp *controlPlane) start(ctx context.Context) (*Cluster, error) {
	began := time.Now()
	creds, err := writeCredentials(filepath.Join(cp.dir, "pki"))
	if err != nil {
		return nil, fmt.Errorf("write credentials: %w", err)
	}
	free, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	p := ports{etcdClient: free[0], etcdPeer: free[1], apiServer: free[2], controllerManager: free[3], scheduler: free[4]}

	if err := cp.startEtcd(ctx, p); err != nil {
		return nil, err
	}
	etcdReady := time.Since(began)

	config := &rest.Config{
		Host:            fmt.Sprintf("https://127.0.0.1:%d", p.apiServer),
		BearerToken:     creds.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: creds.caCertPEM},
		// client-go's default of 5 requests per second would make tests
		// that poll wait on the client rather than on the cluster.
		QPS:   100,
		Burst: 200,
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("create admin client: %w", err)
	}
	if err := cp.startAPIServer(ctx, p, creds, client); err != nil {
		return nil, err
	}
	apiServerReady := time.Since(began)

	kubeconfig := filepath.Join(cp.dir, "admin.kubeconfig")
	if err := writeKubeconfig(kubeconfig, config); err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	if err := cp.startControllers(ctx, p, creds, kubeconfig); err != nil {
		return nil, err
	}
	if err := cp.createNode(ctx, client); err != nil {
		return nil, err
	}
	if err := cp.waitForDefaultServiceAccount(ctx, client); err != nil {
		return nil, err
	}

	cp.t.Logf("k8stest: control plane at %s ready in %s (etcd %s, API server %s)",
		config.Host, time.Since(began).Round(time.Millisecond),
		etcdReady.Round(time.Millisecond), apiServerReady.Round(time.Millisecond))
	return &Cluster{Config: config, Client: client, Kubeconfig: kubeconfig, t: cp.t}, nil
}

func (cp *controlPlane) startEtcd(ctx context.Context, p ports) error {
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", p.etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", p.etcdPeer)
	err := cp.run("etcd",
		"--name=k8stest",
		"--data-dir="+filepath.Join(cp.dir, "etcd"),
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=k8stest="+peerURL,
		"--log-level=warn",
		// The data is thrown away after the test, so it need not survive a
		// crash of the machine.
		"--unsafe-no-fsync",
	)
	if err != nil {
		return err
	}
	httpClient := &http.Client{Timeout: time.Second}
	return cp.waitFor(ctx, "etcd health", func(ctx context.Context) error {
		return checkHealth(ctx, httpClient, clientURL+"/health", `"health":"true"`)
	})
}

func (cp *controlPlane) startAPIServer(ctx context.Context, p ports, creds *credentials, client kubernetes.Interface) error {
	err := cp.run("kube-apiserver",
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", p.etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", p.apiServer),
		"--cert-dir="+filepath.Join(cp.dir, "kube-apiserver"),
		"--tls-cert-file="+creds.servingCertFile,
		"--tls-private-key-file="+creds.servingKeyFile,
		"--token-auth-file="+creds.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+creds.serviceAccountPub,
		"--service-account-signing-key-file="+creds.serviceAccountKey,
		"--service-cluster-ip-range="+serviceClusterIPRange,
		// The reconciler would publish 127.0.0.1 as the endpoint of the
		// kubernetes Service, which Endpoints validation rejects as loopback.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
	)
	if err != nil {
		return err
	}
	return cp.waitFor(ctx, "kube-apiserver /readyz", func(ctx context.Context) error {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("%w: %s", err, lastLines(string(body), 5))
		}
		return nil
	})
}

// startControllers starts kube-controller-manager, kube-scheduler and kwok,
// which all reach the API server through the admin kubeconfig, and waits for
// the first two to report healthy.
func (cp *controlPlane) startControllers(ctx context.Context, p ports, creds *credentials, kubeconfig string) error {
	err := cp.run("kube-controller-manager",
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", p.controllerManager),
		"--cert-dir="+filepath.Join(cp.dir, "kube-controller-manager"),
		"--service-account-private-key-file="+creds.serviceAccountKey,
		"--root-ca-file="+creds.caCertFile,
		"--service-cluster-ip-range="+serviceClusterIPRange,
	)
	if err != nil {
		return err
	}
	err = cp.run("kube-scheduler",
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", p.scheduler),
		"--cert-dir="+filepath.Join(cp.dir, "kube-scheduler"),
	)
	if err != nil {
		return err
	}
	kwokArgs := []string{
		"--kubeconfig=" + kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=" + kwokNodeAnnotationValue,
		"--node-ip=127.0.0.1",
		"--cidr=" + podCIDR,
		"--node-lease-duration-seconds=40",
	}
	for _, stage := range kwokStages {
		kwokArgs = append(kwokArgs, "--config="+filepath.Join(cp.binDir, "kwok-stages", stage))
	}
	if err := cp.run("kwok", kwokArgs...); err != nil {
		return err
	}

	// Both serve /healthz over HTTPS with a certificate they generate in
	// --cert-dir, which no CA signs. The address is a loopback port that
	// this process just started, so skipping verification is safe.
	httpClient := &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	for name, port := range map[string]int{"kube-controller-manager": p.controllerManager, "kube-scheduler": p.scheduler} {
		url := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
		err := cp.waitFor(ctx, name+" /healthz", func(ctx context.Context) error {
			return checkHealth(ctx, httpClient, url, "ok")
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// createNode creates the Node that kwok manages and waits until kwok has
// marked it Ready.
func (cp *controlPlane) createNode(ctx context.Context, client kubernetes.Interface) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        NodeName,
			Annotations: map[string]string{kwokNodeAnnotation: kwokNodeAnnotationValue},
			Labels: map[string]string{
				"kubernetes.io/hostname": NodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create node %s: %w", NodeName, err)
	}
	return cp.waitFor(ctx, "node "+NodeName+" Ready", func(ctx context.Context) error {
		node, err := client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, condition := range node.Status.Conditions {
			if condition.Type == corev1.NodeReady && condition.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return errors.New("node has no Ready=True condition")
	})
}

// waitForDefaultServiceAccount waits for the controller manager to create
// the default ServiceAccount in the default namespace. Until it exists the
// API server rejects Pods there, and the ReplicaSet and Job controllers back
// off before they retry.
func (cp *controlPlane) waitForDefaultServiceAccount(ctx context.Context, client kubernetes.Interface) error {
	return cp.waitFor(ctx, "ServiceAccount default/default", func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// run starts one binary from the bin directory with its log in the temp dir.
func (cp *controlPlane) run(name string, args ...string) error {
	p, err := startProcess(cp.launcher, name, filepath.Join(cp.binDir, name), cp.dir, cp.dir, args...)
	if err != nil {
		return err
	}
	cp.processes = append(cp.processes, p)
	return nil
}

// waitFor calls check until it returns nil. It fails when ctx ends or a
// started process exits, with the last error from check.
func (cp *controlPlane) waitFor(ctx context.Context, what string, check func(context.Context) error) error {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		checkCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := check(checkCtx)
		cancel()
		if err == nil {
			return nil
		}
		for _, p := range cp.processes {
			if p.hasExited() {
				return fmt.Errorf("waiting for %s: %s %s", what, p.name, p.describeExit())
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s waiting for %s: %w", startTimeout, what, err)
		case <-ticker.C:
		}
	}
}

// stop kills every process, newest first, and logs the output of any that
// exited on its own before the test ended.
func (cp *controlPlane) stop() {
	for _, p := range cp.processes {
		if p.hasExited() && !p.stopped && !cp.tailsLogged {
			cp.t.Logf("k8stest: %s exited during the test (%s); last lines of %s:\n%s",
				p.name, p.describeExit(), p.logPath, p.tail(logTailLines))
		}
	}
	for i := len(cp.processes) - 1; i >= 0; i-- {
		if err := cp.processes[i].stop(stopTimeout); err != nil {
			cp.t.Errorf("k8stest: stop: %v", err)
		}
	}
	cp.launcher.close()
}

// logTails logs the end of every process's output after a failed start.
func (cp *controlPlane) logTails() {
	cp.tailsLogged = true
	for _, p := range cp.processes {
		cp.t.Logf("k8stest: %s (%s), last lines of %s:\n%s", p.name, p.describeExit(), p.logPath, p.tail(logTailLines))
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. The listeners
// are closed before the ports are used, so another process can take one in
// between, and then the server that needed it fails to start.
func freePorts(n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	result := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		result = append(result, l.Addr().(*net.TCPAddr).Port)
	}
	return result, nil
}

// checkHealth returns nil when a GET of url returns status 200 and a body
// that contains want.
func checkHealth(ctx context.Context, client *http.Client, url, want string) error {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	response, err := client.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	buffer := make([]byte, 4096)
	n, _ := response.Body.Read(buffer)
	body := string(buffer[:n])
	if response.StatusCode != http.StatusOK || !strings.Contains(body, want) {
		return fmt.Errorf("GET %s: status %d, body %q", url, response.StatusCode, body)
	}
	return nil
}

// writeKubeconfig writes config, which must use a bearer token and CA data,
// as a kubeconfig file with one context.
func writeKubeconfig(path string, config *rest.Config) error {
	const name = "k8stest"
	file := clientcmdapi.NewConfig()
	file.Clusters[name] = &clientcmdapi.Cluster{Server: config.Host, CertificateAuthorityData: config.CAData}
	file.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: config.BearerToken}
	file.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	file.CurrentContext = name
	return clientcmd.WriteToFile(*file, path)
}

func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
