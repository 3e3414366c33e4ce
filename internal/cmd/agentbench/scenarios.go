package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// scenario is one HTTP server under the same wrk load.
type scenario struct {
	id   string // "1", "1b", "2"...: the numbering; 1b and 4c are ceilings
	name string
	// ceiling is the id of the scenario whose figures of the same round
	// this one's are divided by; "1" for the ceilings themselves.
	ceiling string
	path    string
	post    bool   // POST postBody instead of a GET
	want    string // a piece of the answer that proves the scenario is what it claims
	start   func(config) (running, error)
}

// running is a scenario's system under load. stop stops its server and
// supervisor; the churn, if any, is stopped before.
type running struct {
	srv   *server
	churn *churn // tasks starting and ending in the same process; nil without
	stop  func() error
}

// result is one scenario's figures.
type result struct {
	scenario
	load  wrkResult
	vs    ratios
	tasks *rate // the task starts during the load, nil without churn
}

// ratios are a scenario's figures over its ceiling's in the same round,
// each the median over the rounds: a machine that slows down between rounds
// slows a scenario and its ceiling alike.
type ratios struct {
	rps, p99 float64
}

// scenarios are the scenarios to run: all of them, or those -scenarios
// names with their ceilings, in the order of allScenarios (the ceiling (1)
// always first).
func scenarios(cfg config) []scenario {
	all := allScenarios(cfg)
	picked := map[string]bool{"1": true}
	for _, id := range cfg.scenarios {
		picked[id] = true
	}
	// A ceiling comes before the scenarios it bounds: walking backwards
	// picks the ceilings of ceilings too.
	for i := len(all) - 1; i >= 0; i-- {
		if len(cfg.scenarios) == 0 || picked[all[i].id] {
			picked[all[i].id], picked[all[i].ceiling] = true, true
		}
	}
	var run []scenario
	for _, sc := range all {
		if picked[sc.id] {
			run = append(run, sc)
		}
	}
	return run
}

func allScenarios(cfg config) []scenario {
	return []scenario{
		{id: "1", ceiling: "1", name: "bare net/http GET /ping (the ceiling)", path: "/ping", want: `"Healthy"`, start: bare(barePing)},
		{id: "2", ceiling: "1", name: "agent /ping, idle", path: "/ping", want: `"Healthy"`, start: idleAgent},
		{id: "3", ceiling: "1", name: fmt.Sprintf("agent /ping, %s tasks tracked", grouped(cfg.tracked)), path: "/ping", want: `"HealthyBusy"`, start: trackedAgent},
		{id: "4c", ceiling: "1", name: "bare net/http GET /ping, tasks churning in the same process", path: "/ping", want: `"Healthy"`, start: churningBare},
		{id: "4", ceiling: "4c", name: "agent /ping, tasks churning", path: "/ping", want: `"status"`, start: churningAgent},
		{id: "1b", ceiling: "1", name: "bare net/http POST, body read and echoed", path: "/invocations", post: true, want: postBody, start: bare(bareEcho)},
		{id: "5", ceiling: "1b", name: "agent POST /invocations, entrypoint echoing the payload", path: "/invocations", post: true, want: postBody, start: idleAgent},
		{id: "5o", ceiling: "5", name: "the same, telemetry exporting over OTLP/HTTP", path: "/invocations", post: true, want: postBody, start: exportingAgent},
	}
}

func bare(h http.HandlerFunc) func(config) (running, error) {
	return func(config) (running, error) {
		srv, err := serveBare(h)
		if err != nil {
			return running{}, err
		}
		return running{srv: srv, stop: srv.close}, nil
	}
}

func idleAgent(cfg config) (running, error) {
	a, err := startAgent(cfg)
	if err != nil {
		return running{}, err
	}
	return running{srv: a.server, stop: a.stop}, nil
}

// trackedAgent tracks cfg.tracked idle tasks; stopping completes them all
// and checks that the agent is idle again.
func trackedAgent(cfg config) (running, error) {
	a, err := startAgent(cfg)
	if err != nil {
		return running{}, err
	}
	ids := make([]supervisor.TaskID, cfg.tracked)
	err = parallel(cfg.callers, cfg.tracked, func(i int) error {
		ids[i] = a.sup.AddAsyncTask("tracked", nil)
		return nil
	})
	stop := func() error {
		err := completeAll(a.sup, ids, cfg.callers)
		if err == nil {
			err = checkIdle(a.sup)
		}
		return errors.Join(err, a.stop())
	}
	if err != nil {
		return running{}, errors.Join(err, stop())
	}
	return running{srv: a.server, stop: stop}, nil
}

// churningAgent starts and ends tasks on the agent for as long as the load
// runs.
func churningAgent(cfg config) (running, error) {
	a, err := startAgent(cfg)
	if err != nil {
		return running{}, err
	}
	return running{srv: a.server, churn: startChurn(a.sup, cfg.churners), stop: a.stop}, nil
}

// churningBare is (4)'s ceiling: the same churn on a supervisor of its own,
// and the bare ping handler beside it in the same process. The churn's
// goroutines and actors compete with net/http for the same cores in both,
// so the ratio of (4) to (4c) is what the agent adds to a ping, not what
// the churn takes from the machine.
func churningBare(cfg config) (running, error) {
	sup, err := newSupervisor()
	if err != nil {
		return running{}, err
	}
	srv, err := serveBare(barePing)
	if err != nil {
		return running{}, errors.Join(err, shutdownSupervisor(sup))
	}
	stop := func() error { return errors.Join(srv.close(), shutdownSupervisor(sup)) }
	return running{srv: srv, churn: startChurn(sup, cfg.churners), stop: stop}, nil
}

// runHTTP runs every scenario in turn, cfg.rounds times, telling progress
// on w. Rounds interleave the scenarios, so that a burst of noise from the
// rest of the machine hits one run of each rather than all runs of one.
func runHTTP(ctx context.Context, cfg config, gen *loadGen, progress io.Writer) ([]result, error) {
	all := scenarios(cfg)
	width := 0
	for _, sc := range all {
		width = max(width, len(sc.name))
	}
	rounds := make([][]result, len(all))
	for round := 1; round <= cfg.rounds; round++ {
		for i, sc := range all {
			r, err := runScenario(ctx, cfg, gen, sc)
			if err != nil {
				return nil, fmt.Errorf("scenario (%s) %s: %w", sc.id, sc.name, err)
			}
			line := fmt.Sprintf("agentbench: round %d/%d %-4s %-*s %9s req/s  p50 %-8s p99 %-8s%s",
				round, cfg.rounds, "("+sc.id+")", width, sc.name, grouped(int(r.load.RPS)), r.load.P50, r.load.P99, startsNote(r.tasks))
			fmt.Fprintln(progress, strings.TrimRight(line, " "))
			rounds[i] = append(rounds[i], r)
		}
	}
	return summarize(all, rounds), nil
}

func startsNote(tasks *rate) string {
	if tasks == nil {
		return ""
	}
	return fmt.Sprintf(" %s task starts/s", grouped(int(tasks.perSecond())))
}

// summarize gives each scenario the medians of its rounds' figures and of
// its rounds' ratios to its ceiling's; rounds[i] are all[i]'s.
func summarize(all []scenario, rounds [][]result) []result {
	results := make([]result, len(rounds))
	for i, rs := range rounds {
		results[i] = medianOf(rs)
		if c := slices.IndexFunc(all, func(sc scenario) bool { return sc.id == all[i].ceiling }); c >= 0 {
			results[i].vs = ratiosOf(rs, rounds[c])
		}
	}
	return results
}

func ratiosOf(rs, ceiling []result) ratios {
	perRound := func(figure func(r int) float64) float64 {
		vs := make([]float64, len(rs))
		for r := range rs {
			vs[r] = figure(r)
		}
		return median(vs)
	}
	return ratios{
		rps: perRound(func(r int) float64 { return rs[r].load.RPS / ceiling[r].load.RPS }),
		p99: perRound(func(r int) float64 { return float64(rs[r].load.P99) / float64(ceiling[r].load.P99) }),
	}
}

// medianOf takes each figure's median over the rounds (the upper one for
// an even count) and adds up the task starts during the loads.
func medianOf(rounds []result) result {
	res := rounds[0]
	res.load.RPS = medianFigure(rounds, func(r result) float64 { return r.load.RPS })
	res.load.P50 = time.Duration(medianFigure(rounds, func(r result) float64 { return float64(r.load.P50) }))
	res.load.P99 = time.Duration(medianFigure(rounds, func(r result) float64 { return float64(r.load.P99) }))
	if res.tasks == nil {
		return res
	}
	var sum rate
	for _, r := range rounds {
		sum.ops += r.tasks.ops
		sum.elapsed += r.tasks.elapsed
		sum.exactErr = errors.Join(sum.exactErr, r.tasks.exactErr)
	}
	res.tasks = &sum
	return res
}

func medianFigure(rounds []result, figure func(result) float64) float64 {
	vs := make([]float64, len(rounds))
	for i, r := range rounds {
		vs[i] = figure(r)
	}
	return median(vs)
}

// median is the middle value of vs, the upper one for an even count.
func median(vs []float64) float64 {
	slices.Sort(vs)
	return vs[len(vs)/2]
}

// runScenario runs one scenario under a pprof label scenario=<id>, which the
// goroutines it starts inherit, so that a profile can be cut by scenario
// (go tool pprof -tagfocus scenario=4).
func runScenario(ctx context.Context, cfg config, gen *loadGen, sc scenario) (res result, err error) {
	pprof.Do(ctx, pprof.Labels("scenario", sc.id), func(ctx context.Context) {
		res, err = runLabelled(ctx, cfg, gen, sc)
	})
	return res, err
}

// runLabelled starts the scenario, checks one answer, runs the load and
// stops it all: the churn first, whose starts are counted during the load
// only, then the server and the supervisor.
func runLabelled(ctx context.Context, cfg config, gen *loadGen, sc scenario) (result, error) {
	run, err := sc.start(cfg)
	if err != nil {
		return result{}, err
	}
	res := result{scenario: sc}
	url := run.srv.url(sc.path)
	checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = checkAnswer(checkCtx, url, sc.post, sc.want)
	cancel()
	load := func() (err error) {
		res.load, err = gen.run(ctx, url, sc.post)
		return err
	}
	switch {
	case err != nil: // a wrong answer: no load, straight to the stop
	case run.churn == nil:
		err = load()
	default:
		var during rate
		during, err = run.churn.during(load)
		res.tasks = &during
	}
	if run.churn != nil {
		// Not ctx: after an interrupt the last tasks are still waited for.
		stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		whole, churnErr := run.churn.stop(stopCtx)
		cancel()
		if res.tasks != nil {
			res.tasks.exactErr = whole.exactErr
		}
		err = errors.Join(err, churnErr)
	}
	return res, errors.Join(err, run.stop())
}
