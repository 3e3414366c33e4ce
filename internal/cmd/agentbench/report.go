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

// The targets of issue 11: each a ratio to a ceiling measured in the same
// run, but for the churn's rate and the heap.
const (
	pingRatio       = 0.95    // (2), (3): /ping req/s over (1)'s
	pingP99Factor   = 2.0     // (2), (3): /ping p99 over (1)'s
	churnRatio      = 0.90    // (4): /ping req/s over (4c)'s
	churnP99Factor  = 1.5     // (4): /ping p99 over (4c)'s
	minChurnStarts  = 100_000 // (4): task starts per second during the load
	invokeRatio     = 0.80    // (5): /invocations req/s over (1b)'s
	goFloorRatio    = 0.5     // Go of an empty function to completion, per second, over the floor's
	maxHeapPerTask  = 1200    // bytes of live heap per tracked idle task at heapTargetTasks
	heapTargetTasks = 1_000_000
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
	runs := fmt.Sprintf("each figure the median of %d interleaved runs of %s, each ratio the median of the runs' ratios to the same round's ceiling (column vs)", cfg.rounds, cfg.duration)
	if cfg.rounds == 1 {
		runs = fmt.Sprintf("one run of %s each: noisy, see the default run for the targets", cfg.duration)
	}
	fmt.Fprintf(bw, "HTTP: wrk, %d threads, %d keep-alive connections, 127.0.0.1, servers in this process; %s\n\n",
		cfg.threads, cfg.connections, runs)
	writeTable(bw, cfg, results)
	fmt.Fprintln(bw)
	writeInProcess(bw, cfg, in)
	fmt.Fprintln(bw)
	writeChecks(bw, checks(results, in))
	return bw.Flush()
}

func writeTable(w io.Writer, cfg config, results []result) {
	width := len("scenario")
	for _, r := range results {
		width = max(width, len(r.name))
	}
	row := func(cells ...any) { fmt.Fprintf(w, "%-5s %-*s %9s %9s %9s %5s %12s %10s %14s\n", cells...) }
	row("", width, "scenario", "req/s", "p50", "p99", "vs", "req/s ratio", "p99 ratio", "task starts/s")
	for _, r := range results {
		starts := "-"
		if r.tasks != nil {
			starts = grouped(int(r.tasks.perSecond()))
		}
		row("("+r.id+")", width, r.name, grouped(int(r.load.RPS)), r.load.P50, r.load.P99, "("+r.ceiling+")",
			twoPlaces(r.vs.rps), twoPlaces(r.vs.p99), starts)
	}
	for _, r := range results {
		if r.tasks != nil {
			fmt.Fprintf(w, "(%s) churn: %s task starts during %s of load, %s starts/s (%d goroutines, half looping Go of an empty function, half AddAsyncTask+CompleteAsyncTask); afterwards: %s\n",
				r.id, grouped(r.tasks.ops), r.tasks.elapsed.Round(time.Millisecond), grouped(int(r.tasks.perSecond())),
				cfg.churners, exactness(r.tasks.exactErr))
		}
	}
}

func writeInProcess(w io.Writer, cfg config, in inProcess) {
	rounds := fmt.Sprintf("each rate the median of %d interleaved rounds, each ratio the median of the rounds' ratios to the same round's floor", cfg.rounds)
	if cfg.rounds == 1 {
		rounds = "one round"
	}
	fmt.Fprintf(w, "in-process, %d concurrent callers, logger off; %s:\n", cfg.callers, rounds)
	fmt.Fprintf(w, "  floor: protoactor Root.Spawn + Root.Stop of an actor that does nothing, until the last has stopped: %s in %s = %s actors/s\n",
		grouped(in.floor.ops), in.floor.elapsed.Round(time.Millisecond), grouped(int(in.floor.perSecond())))
	fmt.Fprintf(w, "  AddAsyncTask+CompleteAsyncTask pairs: %s in %s = %s pairs/s, %s of the floor; afterwards: %s\n",
		grouped(in.pairs.ops), in.pairs.elapsed.Round(time.Millisecond), grouped(int(in.pairs.perSecond())),
		twoPlaces(in.pairsVsFloor), exactness(in.pairs.exactErr))
	fmt.Fprintf(w, "  Go of an empty function, to completion: %s in %s = %s tasks/s, %s of the floor; afterwards: %s\n",
		grouped(in.gos.ops), in.gos.elapsed.Round(time.Millisecond), grouped(int(in.gos.perSecond())),
		twoPlaces(in.goVsFloor), exactness(in.gos.exactErr))
	for _, h := range in.heap {
		fmt.Fprintf(w, "  heap per tracked idle task at %s tasks: %s B (%s MiB in all, added in %s); all counted busy, then all completed: %s\n",
			grouped(h.tasks), grouped(int(h.perTask())), strconv.FormatFloat(float64(h.bytes)/(1<<20), 'f', 1, 64),
			h.elapsed.Round(time.Millisecond), exactness(h.worksErr))
	}
	fmt.Fprintf(w, "  outcomes of %s ended tasks: %s kept (MaxResults default), %s B per kept outcome; heap %s MiB, %s MiB keeping none\n",
		grouped(in.kept.ended), grouped(in.kept.kept), grouped(int(in.kept.perOutcome())),
		mib(in.kept.bytes), mib(in.kept.without))
}

func exactness(err error) string {
	if err != nil {
		return "NOT EXACT: " + err.Error()
	}
	return "Healthy, 0 tasks counted"
}

func writeChecks(w io.Writer, cs []check) {
	met := 0
	fmt.Fprintln(w, "targets (issue 11):")
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
		id, ceiling, label string
		min, p99Factor     float64
	}{
		{"2", "1", "/ping idle", pingRatio, pingP99Factor},
		{"3", "1", "/ping with tracked tasks", pingRatio, pingP99Factor},
		{"4", "4c", "/ping during churn", churnRatio, churnP99Factor},
	} {
		r, ok := find(results, t.id)
		rps, p99 := r.vs.rps, r.vs.p99
		cs = append(cs,
			measured(ok, fmt.Sprintf("(%s) %s: req/s >= %.2f of (%s)", t.id, t.label, t.min, t.ceiling), twoPlaces(rps), rps >= t.min),
			measured(ok, fmt.Sprintf("(%s) %s: p99 <= %gx (%s)'s", t.id, t.label, t.p99Factor, t.ceiling), twoPlaces(p99)+"x", p99 <= t.p99Factor))
	}
	cs = append(cs, churnChecks(results)...)
	r, ok := find(results, "5")
	inv := r.vs.rps
	cs = append(cs,
		measured(ok, fmt.Sprintf("(5) /invocations: req/s >= %.2f of (1b)", invokeRatio), twoPlaces(inv), inv >= invokeRatio),
		check{
			target:   fmt.Sprintf("Go of an empty function to completion >= %.1f of the floor, status exact afterwards", goFloorRatio),
			measured: fmt.Sprintf("%s (%s/s over %s/s), %s", twoPlaces(in.goVsFloor), grouped(int(in.gos.perSecond())), grouped(int(in.floor.perSecond())), exactness(in.gos.exactErr)),
			ok:       in.goVsFloor >= goFloorRatio && in.gos.exactErr == nil,
		},
		check{"AddAsyncTask+CompleteAsyncTask pairs: status exact afterwards", exactness(in.pairs.exactErr), in.pairs.ops > 0 && in.pairs.exactErr == nil})
	return append(cs, heapChecks(in.heap)...)
}

// churnChecks are (4)'s rate of task starts, and the status after each
// churn: exact, both in (4c) and (4).
func churnChecks(results []result) []check {
	r, ok := find(results, "4")
	var starts float64
	if ok && r.tasks != nil {
		starts = r.tasks.perSecond()
	}
	cs := []check{measured(ok, fmt.Sprintf("(4) task starts/s during the load >= %s", grouped(minChurnStarts)),
		grouped(int(starts))+"/s", starts >= minChurnStarts)}
	for _, id := range []string{"4c", "4"} {
		r, ok := find(results, id)
		exact := ok && r.tasks != nil && r.tasks.exactErr == nil
		figure := "no churn"
		if ok && r.tasks != nil {
			figure = exactness(r.tasks.exactErr)
		}
		cs = append(cs, measured(ok, fmt.Sprintf("(%s) status exact after the churn", id), figure, exact))
	}
	return cs
}

// measured is a check of a scenario that may not have run.
func measured(ran bool, target, figure string, ok bool) check {
	if !ran {
		return check{target: target, measured: "not measured (-scenarios)"}
	}
	return check{target: target, measured: figure, ok: ok}
}

// heapChecks are the heap target and the work of heapTargetTasks tracked
// tasks; the other counts of -heap-tasks are figures only.
func heapChecks(heap []heapUse) []check {
	heapTarget := fmt.Sprintf("heap per tracked idle task at %s tasks <= %s B", grouped(heapTargetTasks), grouped(maxHeapPerTask))
	works := fmt.Sprintf("%s tracked tasks work (all counted, all completed, Healthy)", grouped(heapTargetTasks))
	for _, h := range heap {
		if h.tasks == heapTargetTasks {
			return []check{
				{heapTarget, fmt.Sprintf("%s B", grouped(int(h.perTask()))), h.perTask() <= maxHeapPerTask},
				{works, exactness(h.worksErr), h.worksErr == nil},
			}
		}
	}
	return []check{{heapTarget, "not measured (-heap-tasks)", false}, {works, "not measured (-heap-tasks)", false}}
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

func mib(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) }

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
