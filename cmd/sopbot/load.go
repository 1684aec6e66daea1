package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/internal/demo"
)

// loadIssues is how many issues the load deliveries are spread over, so
// the workers' per-issue ordering does not serialize all of them.
const loadIssues = 10

// loadOptions are the settings of one load run.
type loadOptions struct {
	senders    int
	deliveries int
	target     string // base URL of a running sopbot; empty starts one in process
	secret     string
	timeout    time.Duration
	cpuProfile string // path of a CPU profile of the sending phase, or "" for none
	// rate is the offered load in deliveries per second, shared by all
	// senders; 0 sends each delivery as soon as a sender is free.
	rate float64
	// drain waits, after the sending, until the in-process workers have
	// processed every delivery.
	drain bool
}

func newLoadCommand() *cobra.Command {
	opts := loadOptions{}
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Measure webhook acknowledgement throughput and latency on loopback",
		Long: "Send signed GitHub deliveries (issue comments without a command and issue edits) from\n" +
			"concurrent senders and report deliveries per second and the p50, p99 and max\n" +
			"acknowledgement latency, then time a plain SQLite commit loop for comparison.\n" +
			"Without --target the real server runs in process against the demo's fakes and a\n" +
			"temporary database. A --target must be a loopback URL of a sopbot configured as the\n" +
			"demo is (repository acme/ml-requests, installation 99). Exits 1 on any non-2xx answer.\n\n" +
			"By default the load is a closed loop: each sender posts its next delivery as soon as\n" +
			"the last one is acknowledged, so the run finds the server's maximum throughput and\n" +
			"its latency at that rate. --rate makes it an open loop: the deliveries are scheduled\n" +
			"at that many per second, as webhooks arrive whether or not the last one was answered,\n" +
			"and each latency counts from the delivery's scheduled send time, so a delivery that\n" +
			"waited for a free sender counts that wait.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLoad(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.senders, "senders", 50, "number of concurrent senders")
	cmd.Flags().IntVar(&opts.deliveries, "deliveries", 2000, "total number of deliveries to send")
	cmd.Flags().StringVar(&opts.target, "target", "", "base URL of a running sopbot on a loopback address, such as http://127.0.0.1:8080")
	cmd.Flags().StringVar(&opts.secret, "secret", "", "webhook secret of the --target server")
	cmd.Flags().DurationVar(&opts.timeout, "timeout", 5*time.Minute, "stop the run after this long")
	cmd.Flags().Float64Var(&opts.rate, "rate", 0, "offered load in deliveries per second across all senders (open loop); 0 sends as fast as the server acknowledges")
	cmd.Flags().BoolVar(&opts.drain, "drain", false, "after the sending, wait until the in-process workers have processed every delivery and print how long it took")
	cmd.Flags().StringVar(&opts.cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the sending phase to this file; "+
		"samples of the senders carry the label load=sender")
	return cmd
}

func (o loadOptions) validate() error {
	var problems []error
	if o.senders < 1 {
		problems = append(problems, fmt.Errorf("invalid --senders %d: use 1 or more", o.senders))
	}
	if o.deliveries < 1 {
		problems = append(problems, fmt.Errorf("invalid --deliveries %d: use 1 or more", o.deliveries))
	}
	if o.rate < 0 || math.IsNaN(o.rate) || math.IsInf(o.rate, 0) {
		problems = append(problems, fmt.Errorf("invalid --rate %v: use a number of deliveries per second, or 0 for as fast as acknowledged", o.rate))
	}
	if o.timeout <= 0 {
		problems = append(problems, fmt.Errorf("invalid --timeout %s: use a positive duration", o.timeout))
	}
	if o.target != "" {
		if err := checkLoopbackURL(o.target); err != nil {
			problems = append(problems, err)
		}
		if o.drain {
			problems = append(problems, errors.New("invalid --drain with --target: only the in-process server's processing can be watched"))
		}
		if o.secret == "" {
			problems = append(problems, errors.New("missing --secret: a --target needs its webhook secret"))
		}
	}
	return errors.Join(problems...)
}

// checkLoopbackURL rejects a target that is not an http URL on a loopback
// IP address, so a load run never reaches another host.
func checkLoopbackURL(target string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("invalid --target %q: use an http URL such as http://127.0.0.1:8080", target)
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("invalid --target %q: the host must be a loopback IP address such as 127.0.0.1", target)
	}
	return nil
}

func runLoad(ctx context.Context, out, logs io.Writer, opts loadOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "sopbot-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	target, err := startLoadTarget(ctx, dir, logs, opts)
	if err != nil {
		return err
	}
	defer target.stop()

	webhookURL := target.baseURL + "/github/webhook"
	fmt.Fprintf(out, "sopbot load: %d deliveries from %d senders to %s\n", opts.deliveries, opts.senders, webhookURL)
	if opts.rate > 0 {
		fmt.Fprintf(out, "offered load: %.0f deliveries/s (open loop; each latency counts from the delivery's scheduled send time)\n", opts.rate)
	}
	stopProfile, err := startCPUProfile(opts.cpuProfile)
	if err != nil {
		return err
	}
	cpuBefore := processCPU()
	result := sendLoad(ctx, webhookURL, target.secret, target.templates, loadPlan{senders: opts.senders, deliveries: opts.deliveries, rate: opts.rate})
	cpu := processCPU() - cpuBefore
	if err := stopProfile(); err != nil {
		return err
	}
	result.print(out)
	measured := "senders and server together"
	if opts.target != "" {
		measured = "senders only"
	}
	if result.elapsed > 0 {
		fmt.Fprintf(out, "CPU time of this process while sending: %.2f s, %.2f of %d cores (%s)\n",
			cpu.Seconds(), cpu.Seconds()/result.elapsed.Seconds(), runtime.NumCPU(), measured)
	}
	if target.processed != nil {
		fmt.Fprintf(out, "processed by the workers by the end of sending: %d of %d\n", target.processed(ctx), opts.deliveries)
		if opts.drain {
			reportDrain(ctx, out, target.processed, result.acknowledged())
		}
	}

	loop, err := timeCommitLoop(ctx, filepath.Join(dir, "commits.db"), target.templates[0].Body, opts.deliveries)
	if err != nil {
		return err
	}
	loopRate := float64(opts.deliveries) / loop.Seconds()
	fmt.Fprintf(out, "plain commit loop: %d commits in %.2f s, %.0f commits/s\n", opts.deliveries, loop.Seconds(), loopRate)
	if opts.rate > 0 {
		// An open loop sends no faster than its rate, so its throughput
		// does not measure the ingest capacity.
		fmt.Fprintf(out, "offered load = %.0f%% of the plain commit loop (run without --rate for the durable ingest)\n", 100*opts.rate/loopRate)
	} else {
		fmt.Fprintf(out, "durable ingest = %.0f%% of the plain commit loop\n", 100*result.rate()/loopRate)
	}

	if result.failed > 0 || result.sent < opts.deliveries {
		fmt.Fprintf(out, "FAILED: %d of %d deliveries were not acknowledged with 2xx; first failure: %s\n",
			opts.deliveries-result.acknowledged(), opts.deliveries, result.firstFailure)
		return exitError{code: 1}
	}
	return nil
}

// drainPoll is how often reportDrain counts the processed deliveries. The
// count reads the whole deliveries table on the workers' connection, so
// it is not run more often.
const drainPoll = 250 * time.Millisecond

// reportDrain waits until the workers have processed want deliveries, or
// ctx ends, and prints how long that took after the sending ended.
func reportDrain(ctx context.Context, out io.Writer, processed func(context.Context) int, want int) {
	start := time.Now()
	done := processed(ctx)
	for done < want && sleepUntil(ctx, time.Now().Add(drainPoll)) {
		// A count that failed because ctx ended keeps the last one.
		done = max(done, processed(ctx))
	}
	elapsed := time.Since(start)
	if done < want {
		fmt.Fprintf(out, "processed by the workers: %d of %d when the run timed out, %.1f s after the sending ended\n", done, want, elapsed.Seconds())
		return
	}
	fmt.Fprintf(out, "processed by the workers: all %d, %.1f s after the sending ended\n", want, elapsed.Seconds())
}

// startCPUProfile starts a CPU profile written to path and returns the
// function that stops it and closes the file. An empty path profiles
// nothing.
func startCPUProfile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting CPU profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing CPU profile %s: %w", path, err)
		}
		return nil
	}, nil
}

// processCPU returns the user and system CPU time this process has used,
// or 0 when getrusage fails.
func processCPU() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// loadTarget is the server a load run sends to.
type loadTarget struct {
	baseURL   string
	secret    []byte
	templates []demo.LoadTemplate
	// processed counts the deliveries the in-process workers finished; nil
	// for a --target server.
	processed func(context.Context) int
	stop      func()
}

// startLoadTarget starts the real server in process against the demo's
// fakes, or, with a --target, starts only the fakes to build payloads.
func startLoadTarget(ctx context.Context, dir string, logs io.Writer, opts loadOptions) (loadTarget, error) {
	fakes, err := demo.StartFakes()
	if err != nil {
		return loadTarget{}, err
	}
	templates, err := fakes.LoadTemplates(ctx, loadIssues)
	if err != nil {
		fakes.Close()
		return loadTarget{}, err
	}
	if opts.target != "" {
		fakes.Close()
		return loadTarget{baseURL: opts.target, secret: []byte(opts.secret), templates: templates, stop: func() {}}, nil
	}

	cfg := fakes.Config(filepath.Join(dir, "sopbot.db"))
	a, err := newApp(ctx, cfg, newLogger(logs, "error"))
	if err != nil {
		fakes.Close()
		return loadTarget{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fakes.Close()
		return loadTarget{}, err
	}
	baseURL := "http://" + ln.Addr().String()
	if err := fakes.GitHub.SetWebhookURL(baseURL + "/github/webhook"); err != nil {
		fakes.Close()
		return loadTarget{}, err
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- a.run(runCtx, ln) }()
	processed := func(ctx context.Context) int {
		_, n, _ := a.db.CountDeliveries(ctx)
		return n
	}
	stop := func() {
		stopRun()
		if err := <-served; err != nil {
			fmt.Fprintf(logs, "sopbot load: stopping the server: %v\n", err)
		}
		fakes.Close()
	}
	return loadTarget{baseURL: baseURL, secret: fakes.WebhookSecret, templates: templates, processed: processed, stop: stop}, nil
}

// loadResult is the senders' measurements.
type loadResult struct {
	sent         int
	failed       int
	firstFailure string
	elapsed      time.Duration
	latencies    []time.Duration // of the 2xx acknowledgements
	// late counts, in an open loop, the deliveries sent more than
	// lateTolerance after their scheduled time, because every sender
	// was waiting for an acknowledgement or for a core.
	late int
	// offered is the open loop's rate, or 0 for a closed loop.
	offered float64
}

// lateTolerance is how far behind its scheduled time a delivery may be
// sent before the open loop counts it as late.
const lateTolerance = time.Millisecond

func (r loadResult) acknowledged() int { return len(r.latencies) }

// rate returns the acknowledged deliveries per second of wall time.
func (r loadResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.acknowledged()) / r.elapsed.Seconds()
}

func (r loadResult) print(out io.Writer) {
	fmt.Fprintf(out, "acknowledged with 2xx: %d of %d sent, %d failed\n", r.acknowledged(), r.sent, r.failed)
	fmt.Fprintf(out, "throughput: %.0f deliveries/s (%.2f s)\n", r.rate(), r.elapsed.Seconds())
	if len(r.latencies) == 0 {
		return
	}
	fmt.Fprintf(out, "acknowledgement latency: p50 %s, p99 %s, max %s\n",
		milliseconds(percentile(r.latencies, 50)), milliseconds(percentile(r.latencies, 99)), milliseconds(slices.Max(r.latencies)))
	if r.offered > 0 {
		fmt.Fprintf(out, "sent more than %s after their scheduled time: %d of %d\n", lateTolerance, r.late, r.sent)
	}
}

func milliseconds(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// percentile returns the nearest-rank p-th percentile of sorted or unsorted
// durations.
func percentile(durations []time.Duration, p float64) time.Duration {
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	rank := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// loadRequestTimeout bounds one delivery's round trip.
const loadRequestTimeout = 30 * time.Second

// loadPlan is the shape of one load run: the number of deliveries, the
// number of sender goroutines, and the rate in deliveries per second
// across all senders, or 0 for as fast as they are acknowledged.
type loadPlan struct {
	senders    int
	deliveries int
	rate       float64
}

// scheduled returns when delivery i is due in an open loop that started
// at start.
func (p loadPlan) scheduled(start time.Time, i int) time.Time {
	return start.Add(time.Duration(float64(i) / p.rate * float64(time.Second)))
}

// sendLoad posts signed webhook deliveries as plan sets out, cycling through
// templates, until all are sent or ctx ends. Each sender keeps one
// HTTP/1.1 connection and writes and reads on it in its own goroutine
// (see loadConn), so the load generator takes as little of the CPU it
// shares with an in-process server as it can.
//
// In an open loop a sender takes the next delivery in schedule order,
// waits for its time and measures its latency from that time, not from
// when it could send it. Otherwise a server that stalls would delay the
// deliveries behind the stall, and their latencies would leave the stall
// out (coordinated omission).
func sendLoad(ctx context.Context, webhookURL string, secret []byte, templates []demo.LoadTemplate, plan loadPlan) loadResult {
	target, err := url.Parse(webhookURL)
	if err != nil {
		return loadResult{sent: plan.deliveries, failed: plan.deliveries, firstFailure: err.Error()}
	}
	signatures := make([]string, len(templates))
	for i, t := range templates {
		signatures[i] = github.Sign(secret, t.Body)
	}

	var next atomic.Int64
	var mu sync.Mutex
	result := loadResult{latencies: make([]time.Duration, 0, plan.deliveries), offered: plan.rate}
	var wg sync.WaitGroup
	// The label marks the senders' samples in a --cpuprofile.
	senderCtx := pprof.WithLabels(ctx, pprof.Labels("load", "sender"))
	start := time.Now()
	for range plan.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pprof.SetGoroutineLabels(senderCtx)
			conn := &loadConn{target: target}
			defer conn.close()
			stop := context.AfterFunc(ctx, conn.interrupt)
			defer stop()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= plan.deliveries {
					return
				}
				var due time.Time
				late := false
				if plan.rate > 0 {
					due = plan.scheduled(start, i)
					if !sleepUntil(ctx, due) {
						return
					}
					late = time.Since(due) > lateTolerance
				}
				t := templates[i%len(templates)]
				latency, err := conn.post(t, signatures[i%len(templates)], due)
				mu.Lock()
				result.sent++
				if late {
					result.late++
				}
				if err != nil {
					result.failed++
					if result.firstFailure == "" {
						result.firstFailure = err.Error()
					}
				} else {
					result.latencies = append(result.latencies, latency)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	result.elapsed = time.Since(start)
	return result
}

// sleepUntil waits until t and reports false when ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	wait := time.Until(t)
	if wait <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// loadConn is one sender's keep-alive HTTP/1.1 connection to the webhook
// URL. It writes each request with one writev and reads the response in
// the calling goroutine. net/http's client hands every request to a
// writer goroutine and every response back from a reader goroutine. On two
// cores shared with the server, those hand-offs and their CPU add to the
// measured latency.
type loadConn struct {
	target *url.URL
	mu     sync.Mutex // guards conn against interrupt
	conn   net.Conn
	reader *bufio.Reader
	// interrupted is set once the run's context ends, and no connection
	// is dialed after that.
	interrupted bool
}

// post sends one delivery of t under a new id and returns the time from
// due until the response body was read. A zero due, or one after the
// start of the write (or of the dial for a new connection), counts from
// that start.
func (c *loadConn) post(t demo.LoadTemplate, signature string, due time.Time) (time.Duration, error) {
	head := "POST " + c.target.RequestURI() + " HTTP/1.1\r\n" +
		"Host: " + c.target.Host + "\r\n" +
		"User-Agent: GitHub-Hookshot/sopbot-load\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(t.Body)) + "\r\n" +
		"X-GitHub-Event: " + t.Event + "\r\n" +
		"X-GitHub-Delivery: " + uuid.NewString() + "\r\n" +
		"X-Hub-Signature-256: " + signature + "\r\n\r\n"

	start := time.Now()
	origin := start
	if !due.IsZero() && due.Before(start) {
		origin = due
	}
	conn, err := c.connection(start.Add(loadRequestTimeout))
	if err != nil {
		return 0, fmt.Errorf("posting delivery: %w", err)
	}
	request := net.Buffers{[]byte(head), t.Body}
	if _, err := request.WriteTo(conn); err != nil {
		c.drop()
		return 0, fmt.Errorf("posting delivery: %w", err)
	}
	resp, err := http.ReadResponse(c.reader, nil)
	if err != nil {
		c.drop()
		return 0, fmt.Errorf("reading acknowledgement: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	latency := time.Since(origin)
	if err != nil || resp.Close {
		c.drop()
	}
	if err != nil {
		return 0, fmt.Errorf("reading acknowledgement: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, fmt.Errorf("delivery returned status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return latency, nil
}

// connection returns the open connection, or dials a new one, with its
// deadline set. Setting it under mu keeps an interrupt from being undone.
func (c *loadConn) connection(deadline time.Time) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.interrupted {
		return nil, context.Canceled
	}
	if c.conn != nil {
		if err := c.conn.SetDeadline(deadline); err != nil {
			_ = c.conn.Close()
			c.conn = nil
			return nil, err
		}
		return c.conn, nil
	}

	dialer := net.Dialer{Timeout: loadRequestTimeout}
	var conn net.Conn
	var err error
	if c.target.Scheme == "https" {
		conn, err = (&tls.Dialer{NetDialer: &dialer}).Dial("tcp", c.target.Host)
	} else {
		conn, err = dialer.Dial("tcp", c.target.Host)
	}
	if err != nil {
		return nil, err
	}

	if err := conn.SetDeadline(deadline); err != nil {
		_ = conn.Close()
		return nil, err
	}
	c.conn, c.reader = conn, bufio.NewReader(conn)
	return conn, nil
}

// drop closes the connection after an error or a "Connection: close", so
// the next post dials again.
func (c *loadConn) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// interrupt ends a round trip in progress when the run's context ends.
func (c *loadConn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.interrupted = true
	if c.conn != nil {
		_ = c.conn.SetDeadline(time.Now())
	}
}

func (c *loadConn) close() { c.drop() }

// timeCommitLoop times n single-row INSERT transactions, one after the
// other, on a new SQLite file opened with the pragmas of bot/store (WAL,
// synchronous NORMAL, busy_timeout, immediate transactions, one
// connection). Each row carries payload, as a stored delivery does.
func timeCommitLoop(ctx context.Context, path string, payload []byte, n int) (time.Duration, error) {
	query := url.Values{}
	for _, pragma := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(5000)"} {
		query.Add("_pragma", pragma)
	}
	query.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+query.Encode())
	if err != nil {
		return 0, fmt.Errorf("opening commit loop database %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE rows (id TEXT PRIMARY KEY, payload BLOB NOT NULL, at TEXT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("creating commit loop table: %w", err)
	}

	start := time.Now()
	for i := range n {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, fmt.Errorf("commit loop row %d: %w", i, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO rows (id, payload, at) VALUES (?, ?, ?)`,
			uuid.NewString(), payload, time.Now().UTC().Format(time.RFC3339Nano))
		if err != nil {
			_ = tx.Rollback()
			return 0, fmt.Errorf("commit loop row %d: %w", i, err)
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("commit loop row %d: %w", i, err)
		}
	}
	return time.Since(start), nil
}
