package handlers

import (
	"context"
	"database/sql"
	"sync"

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
	results := make([]result, len(batch))
	err := b.server.DB.InEdgeTx(ctx, func(tx *sql.Tx) error {
		for i, p := range batch {
			fresh, err := b.server.insert(ctx, tx, p.delivery)
			if err != nil {
				return err
			}
			results[i] = result{fresh: fresh}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			b.commit([]pending{p})
		}
		return
	}
	for i, p := range batch {
		if err != nil {
			results[i] = result{err: err}
		}
		p.done <- results[i]
	}
}

// insert stores one delivery and enqueues its processing in tx.
func (s *Server) insert(ctx context.Context, tx *sql.Tx, d store.Delivery) (bool, error) {
	fresh, err := s.DB.InsertDelivery(ctx, tx, d)
	if err != nil || !fresh {
		return fresh, err
	}
	_, err = s.Queue.InsertTx(ctx, tx, bot.ProcessDeliveryArgs{DeliveryID: d.ID}, nil)
	return fresh, err
}
