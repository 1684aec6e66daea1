package bot

import (
	"encoding/json"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
)

func TestTakeableCommentJobs(t *testing.T) {
	job := &river.Job[CommentArgs]{JobRow: &rivertype.JobRow{ID: 10}, Args: CommentArgs{Issue: 1, Body: "mine", Marker: "d/0"}}
	row := func(id int64, issue, attempt int, state rivertype.JobState, output string) *rivertype.JobRow {
		args, _ := json.Marshal(CommentArgs{Issue: issue, Body: "other", Marker: "d/1"})
		r := &rivertype.JobRow{ID: id, Attempt: attempt, State: state, EncodedArgs: args, Metadata: []byte(`{}`)}
		if output != "" {
			r.Metadata = []byte(`{"output":` + output + `}`)
		}
		return r
	}
	tests := []struct {
		name string
		row  *rivertype.JobRow
		want bool
	}{
		{"waiting, never run", row(11, 1, 0, rivertype.JobStateAvailable, ""), true},
		{"running its first attempt", row(11, 1, 1, rivertype.JobStateRunning, ""), true},
		{"the job itself", row(10, 1, 0, rivertype.JobStateAvailable, ""), false},
		{"another issue", row(11, 2, 0, rivertype.JobStateAvailable, ""), false},
		{"waiting after a failed attempt", row(11, 1, 1, rivertype.JobStateAvailable, ""), false},
		{"in a retry", row(11, 1, 2, rivertype.JobStateRunning, ""), false},
		{"taken over already", row(11, 1, 0, rivertype.JobStateAvailable, `{"taken_by":12}`), false},
		{"about to post its own parts", row(11, 1, 1, rivertype.JobStateRunning, `{"parts":[{"body":"other","marker":"d/1"}]}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			part, ok := takeable(tt.row, job)
			assert.Equal(t, tt.want, ok)
			if tt.want {
				assert.Equal(t, CommentPart{Body: "other", Marker: "d/1"}, part)
			}
		})
	}
}
