package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// scenario is one HTTP server under the same wrk load.
type scenario struct {
	id    string // "1", "1b", "2"...: the numbering, 1b being the POST ceiling
	name  string
	path  string
	post  bool   // POST a small JSON payload instead of a GET
	want  string // a piece of the answer that proves the scenario is what it claims
	start func(config) (running, error)
}

// running is a scenario's system under load; stop stops all of it, and
// returns the task starts of a churning agent.
type running struct {
	srv  *server
	stop func() (*rate, error)
}

// result is one scenario's figures.
type result struct {
	scenario
	load  wrkResult
	vs    ratios
	tasks *rate // the churn achieved during the load, nil without churn
}

// ratios are a scenario's figures over its ceilings' in the same round,
// each the median over the rounds: a machine that slows down between rounds
// slows a scenario and its ceiling alike.
type ratios struct {
	rps, p99 float64 // over (1)'s
	rpsPost  float64 // over (1b)'s; 0 when (1b) did not run
}

// scenarios are the scenarios to run: all of them, or those -scenarios
// names, with the ceiling (1) always first.
func scenarios(cfg config) []scenario {
	var picked []scenario
	for _, sc := range allScenarios(cfg) {
		if sc.id == "1" || len(cfg.scenarios) == 0 || slices.Contains(cfg.scenarios, sc.id) {
			picked = append(picked, sc)
		}
	}
	return picked
}

func allScenarios(cfg config) []scenario {
	return []scenario{
		{id: "1", name: "bare net/http GET /ping (the ceiling)", path: "/ping", want: `"Healthy"`, start: bare(barePing)},
		{id: "2", name: "agent /ping, idle", path: "/ping", want: `"Healthy"`, start: idleAgent},
		{id: "3", name: fmt.Sprintf("agent /ping, %s tasks tracked", grouped(cfg.tracked)), path: "/ping", want: `"HealthyBusy"`, start: trackedAgent},
		{id: "4", name: "agent /ping, tasks churning", path: "/ping", want: `"status"`, start: churningAgent},
		{id: "1b", name: "bare net/http POST, body read", path: "/invocations", post: true, want: `{"ok": true}`, start: bare(bareInvoke)},
		{id: "5", name: "agent POST /invocations, trivial entrypoint", path: "/invocations", post: true, want: `{"ok": true}`, start: idleAgent},
	}
}

func bare(h http.HandlerFunc) func(config) (running, error) {
	return func(config) (running, error) {
		srv, err := serveBare(h)
		if err != nil {
			return running{}, err
		}
		return running{srv: srv, stop: func() (*rate, error) { return nil, srv.close() }}, nil
	}
}

func idleAgent(cfg config) (running, error) {
	a, err := startAgent(cfg)
	if err != nil {
		return running{}, err
	}
	return running{srv: a.server, stop: func() (*rate, error) { return nil, a.stop() }}, nil
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
	stop := func() (*rate, error) {
		err := completeAll(a.sup, ids, cfg.callers)
		if err == nil {
			err = checkIdle(a.sup)
		}
		return nil, errors.Join(err, a.stop())
	}
	if err != nil {
		_, stopErr := stop()
		return running{}, errors.Join(err, stopErr)
	}
	return running{srv: a.server, stop: stop}, nil
}

// churningAgent starts and ends tasks for as long as the load runs.
func churningAgent(cfg config) (running, error) {
	a, err := startAgent(cfg)
	if err != nil {
		return running{}, err
	}
	c := startChurn(a.sup, cfg.churners)
	stop := func() (*rate, error) {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		r, err := c.stop(ctx)
		return &r, errors.Join(err, a.stop())
	}
	return running{srv: a.server, stop: stop}, nil
}

// runHTTP runs every scenario in turn, cfg.rounds times, telling progress
// on w. Rounds interleave the scenarios, so that a burst of noise from the
// rest of the machine hits one run of each rather than all runs of one.
func runHTTP(ctx context.Context, cfg config, gen *loadGen, progress io.Writer) ([]result, error) {
	all := scenarios(cfg)
	rounds := make([][]result, len(all))
	for round := 1; round <= cfg.rounds; round++ {
		for i, sc := range all {
			r, err := runScenario(ctx, cfg, gen, sc)
			if err != nil {
				return nil, fmt.Errorf("scenario (%s) %s: %w", sc.id, sc.name, err)
			}
			fmt.Fprintf(progress, "agentbench: round %d/%d (%s) %-45s %9s req/s  p50 %-8s p99 %s\n",
				round, cfg.rounds, sc.id, sc.name, grouped(int(r.load.RPS)), r.load.P50, r.load.P99)
			rounds[i] = append(rounds[i], r)
		}
	}
	return summarize(all, rounds), nil
}

// summarize gives each scenario the medians of its rounds' figures and of
// its rounds' ratios to the ceilings; rounds[0] are the ceiling's.
func summarize(all []scenario, rounds [][]result) []result {
	var post []result
	for i, sc := range all {
		if sc.id == "1b" {
			post = rounds[i]
		}
	}
	results := make([]result, len(rounds))
	for i, rs := range rounds {
		results[i] = medianOf(rs)
		results[i].vs = ratiosOf(rs, rounds[0], post)
	}
	return results
}

func ratiosOf(rs, ceiling, post []result) ratios {
	perRound := func(figure func(r int) float64) float64 {
		vs := make([]float64, len(rs))
		for r := range rs {
			vs[r] = figure(r)
		}
		return median(vs)
	}
	v := ratios{
		rps: perRound(func(r int) float64 { return rs[r].load.RPS / ceiling[r].load.RPS }),
		p99: perRound(func(r int) float64 { return float64(rs[r].load.P99) / float64(ceiling[r].load.P99) }),
	}
	if post != nil {
		v.rpsPost = perRound(func(r int) float64 { return rs[r].load.RPS / post[r].load.RPS })
	}
	return v
}

// medianOf takes each figure's median over the rounds (the upper one for
// an even count) and adds up the task churn.
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
	if err == nil {
		res.load, err = gen.run(ctx, url, sc.post)
	}
	var stopErr error
	res.tasks, stopErr = run.stop()
	return res, errors.Join(err, stopErr)
}
