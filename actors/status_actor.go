package actors

import (
	"cmp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// StatusActor owns the task registry, the forced and custom statuses and the
// time of the last status change. It is the single source of truth for the
// ping status; it publishes a Snapshot after every change so that readers
// never wait on its mailbox.
//
// Spawn it with a producer that returns the same instance, so that a restart
// keeps its state.
type StatusActor struct {
	// published is written only by Receive and read by anyone through Snapshot.
	published atomic.Pointer[Snapshot]

	// The fields below are owned by Receive.
	tasks    map[TaskID]TaskEntry
	requests map[uint64]RequestEntry // open requests held as busy
	history  []StatusChange          // the latest changes, oldest first, at most maxHistory
	forced   Status
	custom   Status
	source   any // identifies the custom ping function that custom came from
	current  Status
	since    time.Time
	idle     []chan<- struct{}
	log      zerolog.Logger
}

// NewStatusActor returns a status actor that starts Healthy.
func NewStatusActor(log zerolog.Logger) *StatusActor {
	a := &StatusActor{
		tasks:    make(map[TaskID]TaskEntry),
		requests: make(map[uint64]RequestEntry),
		current:  Healthy,
		since:    time.Now(),
		log:      log,
	}
	a.publish()
	return a
}

// Snapshot returns the latest published state; safe from any goroutine.
func (a *StatusActor) Snapshot() Snapshot { return *a.published.Load() }

// Receive handles one message.
func (a *StatusActor) Receive(c actor.Context) {
	defer logPanic(&a.log, c.Self(), c.Message())
	switch m := c.Message().(type) {
	case *TrackTask:
		a.tasks[m.Entry.ID] = m.Entry
		a.update(WhyTaskStarted)
		m.Reply.Answer(TaskStart{ID: m.Entry.ID})
	case *UntrackTask:
		_, ok := a.tasks[m.ID]
		if ok {
			delete(a.tasks, m.ID)
			a.update(WhyTaskEnded)
		}
		m.Reply.Answer(ok)
	case *HoldBusy:
		if m.Reply.Take() {
			a.requests[m.Entry.ID] = m.Entry
			a.update(WhyLongRequest)
			m.Reply.Answer(struct{}{})
		}
	case *ReleaseBusy:
		if _, ok := a.requests[m.ID]; ok {
			delete(a.requests, m.ID)
			a.update(WhyLongRequestEnded)
		}
	case *ForceStatus:
		if m.Reply.Take() {
			a.forced = m.Status
			a.update(WhyForced)
			m.Reply.Answer(a.published.Load().Ping)
		}
	case *SetCustomSource:
		if m.Reply.Take() {
			a.source, a.custom = m.Source, StatusUnset
			a.update(WhyCustom)
			m.Reply.Answer(a.published.Load().Ping)
		}
	case *ObserveCustom:
		if m.Reply.Take() {
			if m.Source == a.source {
				a.custom = m.Status
				a.update(WhyCustom)
			}
			m.Reply.Answer(a.published.Load().Ping)
		}
	case *Relay:
		m.Answer()
	case *GetTaskInfo:
		m.Reply <- a.taskInfo()
	case *AwaitIdle:
		a.idle = append(a.idle, m.Reply)
		a.releaseIdle()
	case *Describe:
		m.Reply <- a.describe(c)
	}
}

// update recomputes the status and publishes a snapshot if anything visible
// changed; the change time moves only when the status does, and a change is
// recorded in the history with why.
func (a *StatusActor) update(why Why) {
	next := resolve(a.forced, a.custom, len(a.tasks)+len(a.requests) > 0)
	prev := a.published.Load()
	changed := next != a.current
	if changed {
		a.log.Info().Str("from", a.current.String()).Str("to", next.String()).Str("why", why.String()).
			Int("active_count", len(a.tasks)).Int("long_requests", len(a.requests)).Msg("ping status changed")
		now := time.Now()
		a.record(StatusChange{At: now, From: a.current, To: next, Why: why})
		a.current, a.since = next, now
	}
	if changed || prev.Forced != a.forced || prev.Custom != a.custom {
		a.publish()
	}
	a.releaseIdle()
}

// maxHistory bounds the status history. An agent that changes status more
// than once every 3.6 s keeps less than the hour the debug page draws: its
// oldest changes go first.
const maxHistory = 1000

func (a *StatusActor) record(c StatusChange) {
	if len(a.history) == maxHistory {
		a.history = slices.Delete(a.history, 0, maxHistory/10) // amortized: one copy per hundred changes
	}
	a.history = append(a.history, c)
}

func (a *StatusActor) publish() {
	a.published.Store(&Snapshot{
		Ping:   Ping{Status: a.current, Since: a.since},
		Forced: a.forced,
		Custom: a.custom,
	})
}

func (a *StatusActor) releaseIdle() {
	if len(a.tasks) > 0 || len(a.idle) == 0 {
		return
	}
	for _, r := range a.idle {
		r <- struct{}{}
	}
	a.idle = nil
}

// taskInfo lists the registry in start order; ids grow with start time.
func (a *StatusActor) taskInfo() TaskInfo {
	now := time.Now()
	jobs := make([]Job, 0, len(a.tasks))
	for _, e := range a.tasks {
		jobs = append(jobs, Job{ID: e.ID, Name: e.Name, Metadata: e.Metadata, Started: e.Started, Duration: now.Sub(e.Started)})
	}
	slices.SortFunc(jobs, func(x, y Job) int { return cmp.Compare(x.ID, y.ID) })
	return TaskInfo{ActiveCount: len(jobs), RunningJobs: jobs}
}
