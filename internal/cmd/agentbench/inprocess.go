package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/supervisor"
)

// ErrInexact is a status that does not match the tasks: busy with nothing
// tracked, or the wrong count.
var ErrInexact = errors.New("status not exact")

// rate is a number of operations done in some time, and whether the
// status was exact afterwards.
type rate struct {
	ops      int
	elapsed  time.Duration
	exactErr error // nil when the agent was Healthy with no task counted
}

func (r rate) perSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

// inProcess is what the in-process figures measured.
type inProcess struct {
	floor rate // protoactor's spawn and stop of an actor that does nothing
	pairs rate // AddAsyncTask+CompleteAsyncTask pairs
	gos   rate // Go tasks of an empty function, run to completion
	// pairsVsFloor and goVsFloor are the median of each round's rate over
	// the same round's floor.
	pairsVsFloor, goVsFloor float64
	heap                    []heapUse // one per tracked-task count
	kept                    keptUse   // the outcomes of ended tasks
}

// keptUse is the live heap that the kept outcomes of ended tasks cost: after
// ended tasks, of which the supervisor keeps the newest (Config.MaxResults).
type keptUse struct {
	ended, kept int
	// bytes is the live heap above the baseline with the default cap;
	// without is the same with MaxResults -1, which keeps nothing: protoactor's
	// process registry holds a few MiB after many actors came and went.
	bytes, without uint64
}

func (k keptUse) perOutcome() float64 {
	if k.bytes <= k.without || k.kept == 0 {
		return 0
	}
	return float64(k.bytes-k.without) / float64(k.kept)
}

// heapUse is the live heap that n tracked idle tasks cost.
type heapUse struct {
	tasks    int
	bytes    uint64        // HeapAlloc after a GC, above the baseline
	elapsed  time.Duration // to add them all
	worksErr error         // nil when they were all counted, then all completed
}

func (h heapUse) perTask() float64 { return float64(h.bytes) / float64(h.tasks) }

// measureInProcess runs the rates cfg.rounds times, interleaved like the
// HTTP scenarios and each on a fresh actor system or supervisor, then the
// heap figures.
func measureInProcess(ctx context.Context, cfg config) (inProcess, error) {
	var floors, pairs, gos []rate
	for range cfg.rounds {
		floor, err := measureFloor(cfg)
		if err != nil {
			return inProcess{}, fmt.Errorf("floor: %w", err)
		}
		pair, err := measurePairs(cfg)
		if err != nil {
			return inProcess{}, fmt.Errorf("pairs: %w", err)
		}
		g, err := measureGo(ctx, cfg)
		if err != nil {
			return inProcess{}, fmt.Errorf("go tasks: %w", err)
		}
		floors, pairs, gos = append(floors, floor), append(pairs, pair), append(gos, g)
	}
	res := inProcess{
		floor: medianRate(floors), pairs: medianRate(pairs), gos: medianRate(gos),
		pairsVsFloor: medianRatio(pairs, floors), goVsFloor: medianRatio(gos, floors),
	}
	for _, n := range cfg.heapTasks {
		h, err := measureHeap(cfg, n)
		if err != nil {
			return res, fmt.Errorf("heap at %d tasks: %w", n, err)
		}
		res.heap = append(res.heap, h)
	}
	var err error
	if res.kept, err = measureKept(cfg, slices.Max(cfg.heapTasks)); err != nil {
		return res, fmt.Errorf("kept outcomes: %w", err)
	}
	return res, nil
}

// measureKept ends n hand-tracked tasks on a supervisor with the default
// Config.MaxResults, then on one that keeps nothing, and weighs the
// outcomes kept by the difference: memory stays bounded by the cap however
// many tasks ended.
func measureKept(cfg config, n int) (keptUse, error) {
	k := keptUse{ended: n}
	var err error
	if k.bytes, k.kept, err = endTasks(cfg, n, 0); err != nil {
		return k, err
	}
	k.without, _, err = endTasks(cfg, n, -1)
	return k, err
}

// endTasks ends n tasks on a supervisor with maxResults and answers the live
// heap above the baseline and the outcomes kept.
func endTasks(cfg config, n, maxResults int) (uint64, int, error) {
	sup, err := supervisor.New(supervisor.Config{Logger: zerolog.Nop(), MaxResults: maxResults})
	if err != nil {
		return 0, 0, err
	}
	before := liveHeap()
	err = parallel(cfg.callers, n, func(int) error {
		if !sup.CompleteAsyncTask(sup.AddAsyncTask("ended", nil)) {
			return fmt.Errorf("CompleteAsyncTask answered false: %w", ErrInexact)
		}
		return nil
	})
	var bytes uint64
	if after := liveHeap(); after > before {
		bytes = after - before
	}
	var results []supervisor.Task
	if err == nil {
		results, err = sup.Results(context.Background())
	}
	return bytes, len(results), errors.Join(err, shutdownSupervisor(sup))
}

// medianRate is the round of median speed (the faster one for an even
// count), not exact if any round was not.
func medianRate(rounds []rate) rate {
	sorted := slices.SortedFunc(slices.Values(rounds), func(a, b rate) int { return cmp.Compare(a.perSecond(), b.perSecond()) })
	m := sorted[len(sorted)/2]
	m.exactErr = nil
	for _, r := range rounds {
		m.exactErr = errors.Join(m.exactErr, r.exactErr)
	}
	return m
}

// medianRatio is the median of each round's rate over the floor's.
func medianRatio(rounds, floors []rate) float64 {
	vs := make([]float64, len(rounds))
	for i := range rounds {
		vs[i] = rounds[i].perSecond() / floors[i].perSecond()
	}
	return median(vs)
}

// measureFloor times cfg.ops spawns and stops of an actor that does
// nothing, from cfg.callers goroutines, until the last one has stopped: the
// least that one actor per task costs, on protoactor's defaults (its
// dispatcher, its mailbox, spawned from the root context).
//
// Each caller spawns and then stops without waiting, and the clock stops
// when the last actor has handled Stopped, as Go's caller does not wait for
// the task to end and measureGo's clock stops when the last one has.
// StopFuture(pid).Wait() would add to each actor a future, which is a
// second process with a 10 s timer and a Watch, that no task pays, and
// would make each caller wait for each stop.
func measureFloor(cfg config) (rate, error) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()
	var stopped sync.WaitGroup // one per actor spawned, done when it has stopped
	empty := actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Stopped); ok {
			stopped.Done()
		}
	})
	start := time.Now()
	err := parallel(cfg.callers, cfg.ops, func(int) error {
		stopped.Add(1)
		system.Root.Stop(system.Root.Spawn(empty))
		return nil
	})
	stopped.Wait()
	return rate{ops: cfg.ops, elapsed: time.Since(start)}, err
}

// newQuietSupervisor is a supervisor that logs nothing: the in-process
// figures measure the actors, not the logger.
func newQuietSupervisor() (*supervisor.Supervisor, error) {
	return supervisor.New(supervisor.Config{Logger: zerolog.Nop()})
}

// measurePairs times cfg.ops AddAsyncTask+CompleteAsyncTask pairs from
// cfg.callers goroutines, then checks that the status is exact.
func measurePairs(cfg config) (rate, error) {
	sup, err := newQuietSupervisor()
	if err != nil {
		return rate{}, err
	}
	start := time.Now()
	err = parallel(cfg.callers, cfg.ops, func(int) error {
		if !sup.CompleteAsyncTask(sup.AddAsyncTask("bench", nil)) {
			return fmt.Errorf("CompleteAsyncTask answered false: %w", ErrInexact)
		}
		return nil
	})
	r := rate{ops: cfg.ops, elapsed: time.Since(start), exactErr: checkIdle(sup)}
	return r, errors.Join(err, shutdownSupervisor(sup))
}

// measureGo times cfg.ops Go tasks of an empty function, from cfg.callers
// goroutines, until the last one has ended.
func measureGo(ctx context.Context, cfg config) (rate, error) {
	sup, err := newQuietSupervisor()
	if err != nil {
		return rate{}, err
	}
	empty := func(context.Context) error { return nil }
	start := time.Now()
	err = parallel(cfg.callers, cfg.ops, func(int) error {
		_, err := sup.Go("bench", nil, empty)
		return err
	})
	if err == nil {
		err = sup.WaitIdle(ctx)
	}
	r := rate{ops: cfg.ops, elapsed: time.Since(start), exactErr: checkIdle(sup)}
	return r, errors.Join(err, shutdownSupervisor(sup))
}

// measureHeap tracks n idle tasks and weighs the live heap they hold; then
// it checks that all n are counted and that completing them all makes the
// agent Healthy again.
func measureHeap(cfg config, n int) (heapUse, error) {
	sup, err := newQuietSupervisor()
	if err != nil {
		return heapUse{}, err
	}
	ids := make([]supervisor.TaskID, n) // allocated before the baseline: the caller's, not the agent's
	before := liveHeap()
	start := time.Now()
	err = parallel(cfg.callers, n, func(i int) error {
		ids[i] = sup.AddAsyncTask("idle", nil)
		return nil
	})
	h := heapUse{tasks: n, elapsed: time.Since(start)}
	after := liveHeap()
	if after > before {
		h.bytes = after - before
	}
	if err == nil {
		h.worksErr = checkTracked(sup, ids)
	}
	return h, errors.Join(err, shutdownSupervisor(sup))
}

// liveHeap is the heap still reachable after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// checkTracked checks that every id is a task counted as busy, then
// completes them all and checks that the agent is idle.
func checkTracked(sup *supervisor.Supervisor, ids []supervisor.TaskID) error {
	if st := sup.PingStatus().Status; st != supervisor.HealthyBusy {
		return fmt.Errorf("status %s with %d tasks tracked: %w", st, len(ids), ErrInexact)
	}
	if got := sup.AsyncTaskInfo().ActiveCount; got != len(ids) {
		return fmt.Errorf("%d tasks counted, %d tracked: %w", got, len(ids), ErrInexact)
	}
	if err := completeAll(sup, ids, 64); err != nil {
		return err
	}
	return checkIdle(sup)
}

// completeAll completes hand-tracked tasks from callers goroutines.
func completeAll(sup *supervisor.Supervisor, ids []supervisor.TaskID, callers int) error {
	return parallel(callers, len(ids), func(i int) error {
		if !sup.CompleteAsyncTask(ids[i]) {
			return fmt.Errorf("CompleteAsyncTask(%d) answered false: %w", ids[i], ErrInexact)
		}
		return nil
	})
}

// checkIdle checks that the agent is Healthy and counts no task.
func checkIdle(sup *supervisor.Supervisor) error {
	st := sup.PingStatus().Status
	n := sup.AsyncTaskInfo().ActiveCount
	if st != supervisor.Healthy || n != 0 {
		return fmt.Errorf("status %s with %d tasks counted, want Healthy with 0: %w", st, n, ErrInexact)
	}
	return nil
}

// parallel calls op(i) for every i in [0, n) from workers goroutines and
// waits for them all. A worker stops at its first error; the errors are
// joined.
func parallel(workers, n int, op func(i int) error) error {
	workers = max(1, min(workers, n))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := op(i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
