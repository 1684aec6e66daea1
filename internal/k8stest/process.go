package k8stest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// process is one control-plane binary, running in a process group of its own
// with its output in a log file.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed once cmd.Wait has returned
	waitErr error         // result of cmd.Wait, read only after exited is closed
	stopped bool          // set by stop, so an exit after it is expected
}

// launcher starts every child process from one goroutine locked to its OS
// thread. Each child gets Pdeathsig=SIGKILL, so the kernel kills it when the
// thread that started it ends. That covers a test binary that exits without
// running its cleanups (a panic or a -timeout). A thread that Go reuses and
// later retires could end a child early, which the locked thread rules out.
type launcher struct {
	requests chan *exec.Cmd
	results  chan error
}

func newLauncher() *launcher {
	l := &launcher{requests: make(chan *exec.Cmd), results: make(chan error)}
	go func() {
		// The goroutine never calls UnlockOSThread, so when it returns the
		// runtime ends the thread, and the kernel sends SIGKILL to any child
		// that is somehow still running.
		runtime.LockOSThread()
		for cmd := range l.requests {
			l.results <- cmd.Start()
		}
	}()
	return l
}

func (l *launcher) start(cmd *exec.Cmd) error {
	l.requests <- cmd
	return <-l.results
}

// close ends the launcher's thread. Call it only after every child has exited.
func (l *launcher) close() {
	close(l.requests)
}

// startProcess runs binary with args in dir, with output appended to
// logDir/name.log and an environment of only PATH and HOME=dir, so that
// neither the binaries' own environment variables (ETCD_*, KUBECONFIG) nor
// configuration files under the real home directory reach them.
func startProcess(l *launcher, name, binary, dir, logDir string, args ...string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own copy of the descriptor

	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := l.start(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}

	p := &process{name: name, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// hasExited reports whether the process has exited.
func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop kills the process group with SIGKILL and waits for the process to
// exit. The cluster's data is thrown away, so nothing needs a graceful
// shutdown. It returns an error when the process outlives the timeout.
func (p *process) stop(timeout time.Duration) error {
	p.stopped = true
	if p.hasExited() {
		return nil
	}
	// The negative pid addresses the process group that Setpgid created.
	// ESRCH means the group has already gone.
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("kill %s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) still running %s after SIGKILL", p.name, p.cmd.Process.Pid, timeout)
	}
}

// describeExit returns "exited: <status>" for a process that has exited and
// "running" otherwise.
func (p *process) describeExit() string {
	if !p.hasExited() {
		return "running"
	}
	if p.waitErr == nil {
		return "exited: status 0"
	}
	return "exited: " + p.waitErr.Error()
}

// tail returns the last lines of the process's log file.
func (p *process) tail(lines int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	data = bytes.TrimRight(data, "\n")
	all := strings.Split(string(data), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
