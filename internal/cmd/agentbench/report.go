package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The targets of issue 6, on the 2-core development machine.
const (
	pingIdleRatio    = 0.85    // /ping req/s over the ceiling's, idle and with tracked tasks
	pingChurnRatio   = 0.70    // the same during maximal churn
	p99MaxFactor     = 2.0     // /ping p99 over the ceiling's p99, in all three
	invokeRatio      = 0.70    // /invocations req/s over the ceiling's
	minPairsPerSec   = 200_000 // AddAsyncTask+CompleteAsyncTask pairs
	minGoPerSec      = 100_000 // Go tasks of an empty function, to completion
	maxHeapPerTask   = 2048    // bytes of live heap per tracked idle task ("2 KB")
	millionTasksWork = 1_000_000
)

// check is one target, what was measured against it and whether it holds.
type check struct {
	target   string
	measured string
	ok       bool
}

// report prints the machine, the HTTP table, the in-process figures and
// the targets.
func report(w io.Writer, cfg config, results []result, in inProcess) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "machine: %d cores (GOMAXPROCS %d), %s, %s %s/%s\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	runs := fmt.Sprintf("each figure the median of %d interleaved runs of %s, each ratio the median of the runs' ratios to the same round's ceiling", cfg.rounds, cfg.duration)
	if cfg.rounds == 1 {
		runs = fmt.Sprintf("one run of %s each: noisy, see the default run for the targets", cfg.duration)
	}
	fmt.Fprintf(bw, "HTTP: wrk, %d threads, %d keep-alive connections, 127.0.0.1, servers in this process; %s\n\n",
		cfg.threads, cfg.connections, runs)
	writeTable(bw, results)
	fmt.Fprintln(bw)
	writeInProcess(bw, cfg, in)
	fmt.Fprintln(bw)
	writeChecks(bw, checks(results, in))
	return bw.Flush()
}

func writeTable(w io.Writer, results []result) {
	width := len("scenario")
	for _, r := range results {
		width = max(width, len(r.name))
	}
	row := func(cells ...any) { fmt.Fprintf(w, "%-5s %-*s %9s %9s %9s %13s %11s %14s\n", cells...) }
	row("", width, "scenario", "req/s", "p50", "p99", "req/s vs (1)", "p99 vs (1)", "req/s vs (1b)")
	for _, r := range results {
		vsPost := "-"
		if r.post && r.vs.rpsPost > 0 {
			vsPost = twoPlaces(r.vs.rpsPost)
		}
		row("("+r.id+")", width, r.name, grouped(int(r.load.RPS)), r.load.P50, r.load.P99,
			twoPlaces(r.vs.rps), twoPlaces(r.vs.p99), vsPost)
	}
	for _, r := range results {
		if r.tasks != nil {
			fmt.Fprintf(w, "(%s) churn: %s task starts in %s, %s starts/s (half Go of an empty function, half AddAsyncTask+CompleteAsyncTask)\n",
				r.id, grouped(r.tasks.ops), r.tasks.elapsed.Round(time.Millisecond), grouped(int(r.tasks.perSecond())))
		}
	}
}

func writeInProcess(w io.Writer, cfg config, in inProcess) {
	fmt.Fprintf(w, "in-process, %d concurrent callers, logger off:\n", cfg.callers)
	fmt.Fprintf(w, "  AddAsyncTask+CompleteAsyncTask pairs: %s in %s = %s pairs/s; afterwards: %s\n",
		grouped(in.pairs.ops), in.pairs.elapsed.Round(time.Millisecond), grouped(int(in.pairs.perSecond())), exactness(in.pairs.exactErr))
	fmt.Fprintf(w, "  Go of an empty function, to completion: %s in %s = %s tasks/s; afterwards: %s\n",
		grouped(in.gos.ops), in.gos.elapsed.Round(time.Millisecond), grouped(int(in.gos.perSecond())), exactness(in.gos.exactErr))
	for _, h := range in.heap {
		fmt.Fprintf(w, "  heap per tracked idle task at %s tasks: %s B (%s MiB in all, added in %s); all counted busy, then all completed: %s\n",
			grouped(h.tasks), grouped(int(h.perTask())), strconv.FormatFloat(float64(h.bytes)/(1<<20), 'f', 1, 64),
			h.elapsed.Round(time.Millisecond), exactness(h.worksErr))
	}
}

func exactness(err error) string {
	if err != nil {
		return "NOT EXACT: " + err.Error()
	}
	return "Healthy, 0 tasks counted"
}

func writeChecks(w io.Writer, cs []check) {
	met := 0
	fmt.Fprintln(w, "targets (issue 6):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cs {
		mark := "FAIL"
		if c.ok {
			mark = "PASS"
			met++
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", mark, c.target, c.measured)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d targets met\n", met, len(cs))
}

// checks compares the figures with the targets. A target whose
// scenario did not run (-scenarios) is missed: "not measured".
func checks(results []result, in inProcess) []check {
	var cs []check
	for _, t := range []struct {
		id    string
		label string
		min   float64
	}{{"2", "/ping idle", pingIdleRatio}, {"3", "/ping with tracked tasks", pingIdleRatio}, {"4", "/ping during churn", pingChurnRatio}} {
		r, ok := find(results, t.id)
		rps, p99 := r.vs.rps, r.vs.p99
		cs = append(cs,
			measured(ok, fmt.Sprintf("(%s) %s: req/s >= %.2f of (1)", t.id, t.label, t.min), fmt.Sprintf("%.2f", rps), rps >= t.min),
			measured(ok, fmt.Sprintf("(%s) %s: p99 <= %.0fx (1)'s", t.id, t.label, p99MaxFactor), fmt.Sprintf("%.2fx", p99), p99 <= p99MaxFactor))
		if r.tasks != nil {
			cs = append(cs, check{"(4) status exact after the churn", exactness(r.tasks.exactErr), r.tasks.exactErr == nil})
		}
	}
	r, ok := find(results, "5")
	inv := r.vs.rps
	cs = append(cs, measured(ok, fmt.Sprintf("(5) /invocations: req/s >= %.2f of (1)", invokeRatio), fmt.Sprintf("%.2f", inv), inv >= invokeRatio),
		rateCheck("AddAsyncTask+CompleteAsyncTask pairs/s", minPairsPerSec, in.pairs),
		rateCheck("Go tasks/s, to completion", minGoPerSec, in.gos))
	return append(cs, heapChecks(in.heap)...)
}

// measured is a check of a scenario that may not have run.
func measured(ran bool, target, figure string, ok bool) check {
	if !ran {
		return check{target: target, measured: "not measured (-scenarios)"}
	}
	return check{target: target, measured: figure, ok: ok}
}

func rateCheck(label string, min float64, r rate) check {
	return check{
		target:   fmt.Sprintf("%s >= %s, status exact afterwards", label, grouped(int(min))),
		measured: fmt.Sprintf("%s/s, %s", grouped(int(r.perSecond())), exactness(r.exactErr)),
		ok:       r.perSecond() >= min && r.exactErr == nil,
	}
}

func heapChecks(heap []heapUse) []check {
	var cs []check
	million := false
	for _, h := range heap {
		cs = append(cs, check{
			target:   fmt.Sprintf("heap per tracked idle task at %s tasks <= %s B", grouped(h.tasks), grouped(maxHeapPerTask)),
			measured: fmt.Sprintf("%s B", grouped(int(h.perTask()))),
			ok:       h.perTask() <= maxHeapPerTask,
		})
		if h.tasks >= millionTasksWork {
			million = true
			cs = append(cs, check{"1,000,000 tracked tasks work (all counted, all completed, Healthy)", exactness(h.worksErr), h.worksErr == nil})
		}
	}
	if !million {
		cs = append(cs, check{"1,000,000 tracked tasks work", "not measured (-heap-tasks)", false})
	}
	return cs
}

// find returns the result of scenario id, and whether it ran.
func find(results []result, id string) (result, bool) {
	for _, r := range results {
		if r.id == id {
			return r, true
		}
	}
	return result{}, false
}

func twoPlaces(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

// grouped writes n with thousands separators: 1,000,000.
func grouped(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// cpuModel is the first "model name" of /proc/cpuinfo, or "unknown CPU".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}
