package githubfake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/sopbot/sopbot/integrations/github"
)

// deliveryTimeout is how long GitHub waits for a webhook response.
const deliveryTimeout = 10 * time.Second

// hookID is the X-GitHub-Hook-ID of every delivery.
const hookID = "1"

// Delivery is one webhook delivery attempt, queued, sent or failed.
type Delivery struct {
	ID         string // X-GitHub-Delivery, kept by Redeliver
	Event      string // X-GitHub-Event, such as "issues"
	Action     string // the payload's action field
	Redelivery bool
	Status     int    // response status, 0 while queued or when no response came
	Error      string // transport error when no response arrived, or SuppressedError
	Body       []byte // the exact signed bytes
}

// SuppressedError is the Error of a delivery that SuppressNextDeliveries
// kept from being sent.
const SuppressedError = "suppressed"

// SuppressNextDeliveries records the next n deliveries, new ones and
// redeliveries alike, in Deliveries with Status 0 and Error SuppressedError
// and never sends them. This simulates a webhook that GitHub lost.
// Each call replaces the remaining count, and n <= 0 ends the suppression.
// Deliveries already queued are still sent, and Redeliver can send a
// suppressed delivery later.
func (f *Fake) SuppressNextDeliveries(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.suppress = max(n, 0)
}

// enqueueLocked records a new delivery and queues it.
func (f *Fake) enqueueLocked(event, action string, body []byte) {
	f.addDeliveryLocked(Delivery{ID: uuid.NewString(), Event: event, Action: action, Body: body})
}

// addDeliveryLocked records d and queues it for the sender, unless it is
// one of the deliveries SuppressNextDeliveries asked to drop.
func (f *Fake) addDeliveryLocked(d Delivery) {
	if f.suppress > 0 {
		f.suppress--
		d.Error = SuppressedError
		f.deliveries = append(f.deliveries, d)
		return
	}
	f.deliveries = append(f.deliveries, d)
	f.queue = append(f.queue, len(f.deliveries)-1)
	f.broadcastLocked()
}

// broadcastLocked wakes everyone waiting on a queue change.
func (f *Fake) broadcastLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// Deliveries returns every delivery attempt so far, oldest first.
func (f *Fake) Deliveries() []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	deliveries := make([]Delivery, len(f.deliveries))
	for i, d := range f.deliveries {
		d.Body = bytes.Clone(d.Body)
		deliveries[i] = d
	}
	return deliveries
}

// Redeliver queues the delivery with id again, with the same id and the
// same body bytes, as GitHub's "Redeliver" button does.
func (f *Fake) Redeliver(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.deliveries {
		if d.ID != id {
			continue
		}
		f.addDeliveryLocked(Delivery{ID: d.ID, Event: d.Event, Action: d.Action, Redelivery: true, Body: d.Body})
		return nil
	}
	return fmt.Errorf("redelivering %s: no such delivery", id)
}

// WaitIdle waits until every queued delivery has been sent and its
// response received.
// While no webhook URL is set, queued deliveries wait, so WaitIdle returns
// only when ctx ends.
func (f *Fake) WaitIdle(ctx context.Context) error {
	f.mu.Lock()
	for len(f.queue) > 0 || f.inFlight {
		changed, pending := f.changed, len(f.queue)
		f.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d queued webhook deliveries: %w", pending, ctx.Err())
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	return nil
}

// runSender posts queued deliveries one at a time, oldest first, until ctx
// ends. API handlers only append to the queue, so a webhook receiver that
// calls the API back while the sender waits for its response cannot
// deadlock. TestHandlerCallingBackDoesNotDeadlock checks this.
func (f *Fake) runSender(ctx context.Context) {
	defer close(f.senderDone)
	for {
		index, delivery, target, ok := f.nextDelivery(ctx)
		if !ok {
			return
		}
		status, err := f.post(ctx, target, delivery)
		f.finishDelivery(index, status, err)
	}
}

// nextDelivery waits for a queued delivery and a webhook URL and marks the
// delivery in flight.
func (f *Fake) nextDelivery(ctx context.Context) (int, Delivery, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.queue) == 0 || f.webhookURL == "" {
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			f.mu.Lock()
			return 0, Delivery{}, "", false
		}
		f.mu.Lock()
	}

	index := f.queue[0]
	f.queue = f.queue[1:]
	f.inFlight = true
	return index, f.deliveries[index], f.webhookURL, true
}

func (f *Fake) finishDelivery(index, status int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deliveries[index].Status = status
	if err != nil {
		f.deliveries[index].Error = err.Error()
	}
	f.inFlight = false
	f.broadcastLocked()
}

// post sends one delivery with GitHub's headers and returns the status.
func (f *Fake) post(ctx context.Context, target string, d Delivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d.Body))
	if err != nil {
		return 0, fmt.Errorf("building delivery %s: %w", d.ID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/fake")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.ID)
	req.Header.Set("X-GitHub-Hook-ID", hookID)
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	req.Header.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(f.opts.AppID, 10))
	req.Header.Set(github.SignatureHeader, github.Sign(f.opts.WebhookSecret, d.Body))

	resp, err := f.sender.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting delivery %s: %w", d.ID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// validateWebhookURL accepts an empty URL or an http or https URL whose
// host is localhost or a loopback IP.
func validateWebhookURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("webhook URL %q is invalid: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("webhook URL %q is invalid: want an http or https URL", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("webhook URL %q is invalid: the fake delivers only to localhost or a loopback IP", raw)
	}
	return nil
}

// errNotLoopback is returned when a delivery would leave the machine.
var errNotLoopback = errors.New("githubfake delivers only to loopback addresses")

// newLoopbackClient returns an HTTP client that ignores proxy settings and
// refuses to connect to anything but a loopback IP, even when a host name
// resolves elsewhere.
func newLoopbackClient() *http.Client {
	dialer := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("dialing %s: %w", address, errNotLoopback)
			}
			return nil
		},
	}
	return &http.Client{
		Timeout:   deliveryTimeout,
		Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext},
	}
}
