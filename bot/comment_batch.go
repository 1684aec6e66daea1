package bot

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// CommentPart is the text and hidden marker of one comment job. One posted
// comment carries the parts of every comment job of its issue that waited
// at that moment.
type CommentPart struct {
	Body   string `json:"body"`
	Marker string `json:"marker"`
}

// commentOutput is the River job output of a comment job.
type commentOutput struct {
	// Parts are the comments the job posts: its own and those it took
	// over, oldest job first.
	Parts []CommentPart `json:"parts,omitempty"`
	// TakenBy is the id of the job that took this job's comment over.
	TakenBy int64 `json:"taken_by,omitempty"`
}

// While the job that took a comment over has not finished, the comment's
// own job checks again every takenWait.
const takenWait = 100 * time.Millisecond

// postComments posts the comment of job together with those of the other
// comment jobs of the issue that wait or run at this moment, as one
// comment, and returns River's outcome.
//
// The job records in River, in one transaction before it posts, which jobs
// it takes over: each of them gets its id as TakenBy output, and it gets
// the list of parts. A taken job ends without a call once its taker has
// completed, and waits while the taker may still post. Only when the
// taker gave up does it post its own part, after looking for its marker on
// the issue. A retried taker posts the same parts unless it finds the
// first one's marker. Without a River client in ctx the job posts its own
// comment alone.
func (w *Workers) postComments(ctx context.Context, inst int64, job *river.Job[CommentArgs]) error {
	issue := job.Args.Issue
	own := CommentPart{Body: job.Args.Body, Marker: job.Args.Marker}
	client, err := river.ClientFromContextSafely[*sql.Tx](ctx)
	if err != nil {
		return w.postParts(ctx, inst, issue, []CommentPart{own}, job.Attempt)
	}
	defer w.lockIssueComments(issue)()
	// Another job may have marked this one while it waited for the lock.
	row, err := client.JobGet(ctx, job.ID)
	if err != nil {
		return fmt.Errorf("reading comment job %d: %w", job.ID, err)
	}
	var out commentOutput
	_ = json.Unmarshal(row.Output(), &out) // a job without output has none
	if out.TakenBy != 0 {
		return w.waitForTaker(ctx, client, inst, issue, own, out.TakenBy)
	}
	parts := out.Parts
	if len(parts) == 0 {
		if parts, err = w.takeWaitingComments(ctx, client, job, own); err != nil {
			return err
		}
	}
	return w.postParts(ctx, inst, issue, parts, job.Attempt)
}

// waitForTaker ends the job of a comment that the job takerID took over:
// at once when the taker completed, later while it may still post, and by
// posting the comment itself when the taker gave up.
func (w *Workers) waitForTaker(ctx context.Context, client *river.Client[*sql.Tx], inst int64, issue int, own CommentPart, takerID int64) error {
	taker, err := client.JobGet(ctx, takerID)
	switch {
	case errors.Is(err, river.ErrNotFound):
		// The taker's row was cleaned away; it may have posted.
	case err != nil:
		return fmt.Errorf("reading comment job %d: %w", takerID, err)
	case taker.State == rivertype.JobStateCompleted:
		return nil
	case taker.State != rivertype.JobStateCancelled && taker.State != rivertype.JobStateDiscarded:
		return river.JobSnooze(takenWait)
	}
	return w.postParts(ctx, inst, issue, []CommentPart{own}, 2)
}

// postParts posts parts as one comment unless attempt is a retry and the
// first part's marker is already on the issue.
func (w *Workers) postParts(ctx context.Context, inst int64, issue int, parts []CommentPart, attempt int) error {
	if attempt > 1 {
		found, err := w.GitHub.FindComment(ctx, inst, issue, effectTag(parts[0].Marker))
		if err != nil || found {
			return err
		}
	}
	return w.createComment(ctx, inst, issue, parts)
}

// takeWaitingComments marks the other comment jobs of the job's issue that
// have not posted as taken over by this job, records the parts in this
// job's output, and returns them oldest job first, own among them. The
// parts are recorded even when own is the only one, so no other job takes
// this one over after it posted.
func (w *Workers) takeWaitingComments(ctx context.Context, client *river.Client[*sql.Tx], job *river.Job[CommentArgs], own CommentPart) ([]CommentPart, error) {
	type takenJob struct {
		id   int64
		part CommentPart
	}
	all := []takenJob{{id: job.ID, part: own}}
	var parts []CommentPart
	err := w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		params := river.NewJobListParams().Kinds(CommentArgs{}.Kind()).
			States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRunning)
		listed, err := client.JobListTx(ctx, tx, params)
		if err != nil {
			return fmt.Errorf("listing comment jobs: %w", err)
		}
		for _, row := range listed.Jobs {
			part, ok := takeable(row, job)
			if !ok {
				continue
			}
			if _, err := client.JobUpdateTx(ctx, tx, row.ID, &river.JobUpdateParams{Output: commentOutput{TakenBy: job.ID}}); err != nil {
				return fmt.Errorf("marking comment job %d as taken over: %w", row.ID, err)
			}
			all = append(all, takenJob{id: row.ID, part: part})
		}
		slices.SortFunc(all, func(a, b takenJob) int { return cmp.Compare(a.id, b.id) })
		for _, t := range all {
			parts = append(parts, t.part)
		}
		_, err = client.JobUpdateTx(ctx, tx, job.ID, &river.JobUpdateParams{Output: commentOutput{Parts: parts}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return parts, nil
}

// takeable returns the part of another comment job of the same issue that
// this job may post for it: one that never ran, or one in its first
// attempt that has recorded no parts. Such a job posts only after it
// records its parts under the issue's comment lock, which the caller
// holds, so it has not posted. A job that was taken over already, or that
// ran before, is left alone.
func takeable(row *rivertype.JobRow, job *river.Job[CommentArgs]) (CommentPart, bool) {
	if row.ID == job.ID || row.Attempt > 1 || (row.Attempt == 1 && row.State != rivertype.JobStateRunning) {
		return CommentPart{}, false
	}
	var args CommentArgs
	if err := json.Unmarshal(row.EncodedArgs, &args); err != nil || args.Issue != job.Args.Issue {
		return CommentPart{}, false
	}
	var out commentOutput
	_ = json.Unmarshal(row.Output(), &out) // a job without output has none
	if out.TakenBy != 0 || len(out.Parts) > 0 {
		return CommentPart{}, false
	}
	return CommentPart{Body: args.Body, Marker: args.Marker}, true
}

// createComment posts the parts as one comment, each followed by its
// hidden marker.
func (w *Workers) createComment(ctx context.Context, inst int64, issue int, parts []CommentPart) error {
	texts := make([]string, len(parts))
	for i, part := range parts {
		texts[i] = part.Body + "\n\n" + effectTag(part.Marker)
	}
	_, err := w.GitHub.CreateComment(ctx, inst, issue, strings.Join(texts, "\n\n---\n\n"))
	return err
}

// effectTag is the hidden marker of one comment part.
func effectTag(marker string) string { return "<!-- sopbot:effect=" + marker + " -->" }

// lockIssueComments serializes the comment jobs of one issue and returns
// the unlock function.
func (w *Workers) lockIssueComments(number int) func() {
	lock, _ := w.commentLocks.LoadOrStore(number, &sync.Mutex{})
	mu := lock.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}
