package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
)

// maxBatch bounds how many deliveries one commit stores.
const maxBatch = 64

// pending is one delivery waiting for the batch that stores it.
type pending struct {
	delivery store.Delivery
	done     chan result
}

type result struct {
	fresh bool
	err   error
}

// batcher stores concurrent deliveries in shared transactions: the first
// delivery to arrive starts a commit, and every delivery that arrives
// while it runs joins the next one. Each sender still gets its response
// only after the commit that holds its delivery, so batching gives up no
// durability. A lone sender waits for no one.
type batcher struct {
	server *Server
	queue  chan pending
	once   sync.Once
}

func (b *batcher) start() {
	b.queue = make(chan pending, 4*maxBatch)
	go b.run()
}

// store hands a delivery to the batcher and waits for its commit.
func (b *batcher) store(ctx context.Context, d store.Delivery) (bool, error) {
	b.once.Do(b.start)
	p := pending{delivery: d, done: make(chan result, 1)}
	select {
	case b.queue <- p:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case r := <-p.done:
		return r.fresh, r.err
	case <-ctx.Done():
		// The commit may still land; the sender's retry then finds it
		// stored and gets a "duplicate" response.
		return false, ctx.Err()
	}
}

func (b *batcher) run() {
	for first := range b.queue {
		batch := []pending{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case p := <-b.queue:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		b.commit(batch)
	}
}

// commit stores a batch in one transaction. When that fails, each delivery
// is stored alone, so one bad row cannot fail the others.
func (b *batcher) commit(batch []pending) {
	ctx := context.Background()
	deliveries := make([]store.Delivery, len(batch))
	for i, p := range batch {
		deliveries[i] = p.delivery
	}
	var fresh []bool
	err := b.server.DB.InEdgeTx(ctx, func(tx *sql.Tx) error {
		var err error
		fresh, err = b.server.insert(ctx, tx, deliveries)
		return err
	})
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			b.commit([]pending{p})
		}
		return
	}
	for i, p := range batch {
		if err != nil {
			p.done <- result{err: err}
			continue
		}
		p.done <- result{fresh: fresh[i]}
	}
}

// batchEnqueuer inserts many jobs with one statement and returns no job
// rows; *river.Client implements it. With River's SQLite driver (v0.51) a
// job whose unique key is already taken is skipped, not an error, which
// TestBatchEnqueueSkipsExistingJob checks.
type batchEnqueuer interface {
	InsertManyFastTx(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) (int, error)
}

// insert stores deliveries and enqueues the processing of each new one in
// tx. It reports for each delivery whether it is new.
func (s *Server) insert(ctx context.Context, tx *sql.Tx, deliveries []store.Delivery) ([]bool, error) {
	fresh, err := s.DB.InsertDeliveries(ctx, tx, deliveries)
	if err != nil {
		return nil, err
	}
	var jobs []river.InsertManyParams
	for i, d := range deliveries {
		if fresh[i] {
			jobs = append(jobs, river.InsertManyParams{Args: bot.ProcessDeliveryArgs{DeliveryID: d.ID}})
		}
	}
	if len(jobs) == 0 {
		return fresh, nil
	}
	if queue, ok := s.Queue.(batchEnqueuer); ok {
		if _, err := queue.InsertManyFastTx(ctx, tx, jobs); err != nil {
			return nil, fmt.Errorf("enqueuing %d deliveries: %w", len(jobs), err)
		}
		return fresh, nil
	}
	for _, job := range jobs {
		if _, err := s.Queue.InsertTx(ctx, tx, job.Args, nil); err != nil {
			return nil, fmt.Errorf("enqueuing delivery %s: %w", job.Args.(bot.ProcessDeliveryArgs).DeliveryID, err)
		}
	}
	return fresh, nil
}
