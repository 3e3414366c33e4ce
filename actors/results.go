package actors

import (
	"time"
)

// TaskReport is one task as the task supervisor knows it: live, or over and
// kept for a while (ResultOptions).
type TaskReport struct {
	TaskNode
	// Outcome is how the task ended; OutcomeNone while it is live.
	Outcome Outcome
	// Value is what a task function that succeeded returned.
	Value any
	// Err is the last failure of a live task, or why an ended one ended:
	// its last failure, or the cause of its cancellation.
	Err error
	// Ended is when the task ended; zero while it is live.
	Ended time.Time
}

// ResultOptions bounds the outcomes the task supervisor keeps.
type ResultOptions struct {
	// Retention is how long an outcome is kept after its task ended.
	Retention time.Duration
	// Max is the most outcomes kept; the oldest goes first. Zero keeps none.
	Max int
}

// results keeps the outcomes of ended tasks, in the order they ended, for
// Retention and at most Max of them. Owned by the task supervisor's Receive.
type results struct {
	opts  ResultOptions
	byID  map[TaskID]*TaskReport
	order []TaskID // by end time; order[head:] are kept
	head  int
}

func newResults(opts ResultOptions) *results {
	return &results{opts: opts, byID: make(map[TaskID]*TaskReport)}
}

// keep adds an outcome, dropping the oldest beyond the cap.
func (r *results) keep(rep TaskReport) {
	if r.opts.Max <= 0 {
		return
	}
	r.byID[rep.ID] = &rep
	r.order = append(r.order, rep.ID)
	for len(r.order)-r.head > r.opts.Max {
		r.drop()
	}
	r.expire(rep.Ended)
}

// get returns the outcome of task id, unless it has expired.
func (r *results) get(id TaskID, now time.Time) (TaskReport, bool) {
	r.expire(now)
	rep, ok := r.byID[id]
	if !ok {
		return TaskReport{}, false
	}
	return *rep, true
}

// recent returns the kept outcomes, newest first.
func (r *results) recent(now time.Time) []TaskReport {
	r.expire(now)
	out := make([]TaskReport, 0, len(r.order)-r.head)
	for i := len(r.order) - 1; i >= r.head; i-- {
		out = append(out, *r.byID[r.order[i]])
	}
	return out
}

// expire drops the outcomes older than the retention at now.
func (r *results) expire(now time.Time) {
	for r.head < len(r.order) && now.Sub(r.byID[r.order[r.head]].Ended) >= r.opts.Retention {
		r.drop()
	}
}

// drop forgets the oldest outcome; the queue's slice is compacted once half
// of it is dropped ones, so it never holds more than twice what it keeps.
func (r *results) drop() {
	delete(r.byID, r.order[r.head])
	r.head++
	if r.head > len(r.order)/2 {
		r.order = append(r.order[:0], r.order[r.head:]...)
		r.head = 0
	}
}
