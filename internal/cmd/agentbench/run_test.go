package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tinyArgs keep a whole run to a few seconds under -race.
var tinyArgs = []string{"-duration", "1s", "-rounds", "1", "-tracked", "50", "-ops", "200", "-heap-tasks", "500"}

// fakeWrk writes a wrk stand-in that logs its arguments, one run a line,
// and prints real wrk output; it returns its path and the log's.
func fakeWrk(t *testing.T) (bin, argLog string) {
	t.Helper()
	dir := t.TempDir()
	bin, argLog = filepath.Join(dir, "wrk"), filepath.Join(dir, "args")
	// Shell builtins only: the test must not depend on PATH.
	script := "#!/bin/sh\necho \"$*\" >> " + argLog + "\nprintf '%s' '" + wrkOK + "'\n"
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return bin, argLog
}

// Every scenario starts, answers what it claims, gets the same load and
// stops; the report has the table, the in-process figures and the targets,
// and the CPU profile is written.
func TestRunWithFakeWrk(t *testing.T) {
	bin, argLog := fakeWrk(t)
	profile := filepath.Join(t.TempDir(), "cpu.out")
	var stdout, stderr bytes.Buffer
	args := append([]string{"-wrk", bin, "-cpuprofile", profile}, tinyArgs...)
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	if st, err := os.Stat(profile); err != nil || st.Size() == 0 {
		t.Errorf("no CPU profile written: %v", err)
	}
	out := stdout.String()
	for _, want := range []string{"(1) ", "(1b)", "(2) ", "(3) ", "(4c)", "(4) ", "(5) ", "(5o)", "75,720", "637µs", "7.9ms",
		"(4c) churn: ", "(4) churn: ", "floor: protoactor", "actors/s", "pairs/s", "tasks/s", "of the floor",
		"heap per tracked idle task at 500 tasks", "targets (issue 11)", "targets met"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "NOT EXACT") {
		t.Errorf("a status was not exact:\n%s", out)
	}
	logged, err := os.ReadFile(argLog)
	if err != nil {
		t.Fatal(err)
	}
	checkLoads(t, strings.Split(strings.TrimSpace(string(logged)), "\n"))
}

// checkLoads checks that each of the eight scenarios got the same load, and
// that exactly the POST scenarios got the POST script.
func checkLoads(t *testing.T, runs []string) {
	t.Helper()
	if len(runs) != 8 {
		t.Fatalf("%d wrk runs, want 8: %q", len(runs), runs)
	}
	for _, args := range runs {
		if !strings.HasPrefix(args, "--threads 2 --connections 64 --duration 1s --latency ") {
			t.Errorf("wrk run %q: not the common load", args)
		}
		post := strings.HasSuffix(args, "/invocations")
		if script := strings.Contains(args, "--script "); script != post {
			t.Errorf("wrk run %q: POST script given %t, want %t", args, script, post)
		}
	}
}

// A short real run, when wrk is installed: the figures come out of the
// real parser and no load run saw an error answer.
func TestRunWithWrk(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no load run")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk not installed (make bench installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, append([]string{"-connections", "8"}, tinyArgs...), &stdout, &stderr); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	for _, want := range []string{"(4c) churn: ", "(4) churn: ", "targets met"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestChecksCompareWithTheCeiling(t *testing.T) {
	ms := time.Millisecond
	load := func(id, ceiling string, rps float64, p99 time.Duration) result {
		return result{scenario: scenario{id: id, ceiling: ceiling}, load: wrkResult{RPS: rps, P99: p99}}
	}
	one := []result{
		load("1", "1", 100_000, 4*ms),
		load("2", "1", 95_000, 8*ms),   // both at their limits: met
		load("3", "1", 94_000, 9*ms),   // both just beyond: missed
		load("4c", "1", 50_000, 10*ms), // the churn's ceiling: no target of its own
		load("4", "4c", 45_000, 15*ms), // at (4c)'s limits, though far below (1): met
		load("1b", "1", 90_000, 5*ms),  // the POST ceiling: no target of its own
		load("5", "1b", 71_000, 50*ms), // invocations: missed
	}
	one[3].tasks = &rate{ops: 150_000, elapsed: time.Second}
	one[4].tasks = &rate{ops: 99_999, elapsed: time.Second, exactErr: ErrInexact}
	all := make([]scenario, len(one))
	rounds := make([][]result, len(one))
	for i, r := range one {
		all[i], rounds[i] = r.scenario, []result{r}
	}
	results := summarize(all, rounds)
	in := inProcess{
		floor:     rate{ops: 400_000, elapsed: time.Second},
		gos:       rate{ops: 200_000, elapsed: time.Second},
		goVsFloor: 0.5,
		pairs:     rate{ops: 300_000, elapsed: time.Second, exactErr: ErrInexact},
		heap:      []heapUse{{tasks: 100_000, bytes: 5000 * 100_000}, {tasks: 1_000_000, bytes: 1200 * 1_000_000}},
	}
	want := []struct {
		target string // its beginning
		ok     bool
	}{
		{"(2) /ping idle: req/s >= 0.95 of (1)", true},
		{"(2) /ping idle: p99 <= 2x (1)'s", true},
		{"(3) /ping with tracked tasks: req/s", false},
		{"(3) /ping with tracked tasks: p99", false},
		{"(4) /ping during churn: req/s >= 0.90 of (4c)", true},
		{"(4) /ping during churn: p99 <= 1.5x (4c)'s", true},
		{"(4) task starts/s during the load >= 100,000", false},
		{"(4c) status exact after the churn", true},
		{"(4) status exact after the churn", false},
		{"(5) /invocations: req/s >= 0.80 of (1b)", false},
		{"Go of an empty function to completion >= 0.5 of the floor", true},
		{"AddAsyncTask+CompleteAsyncTask pairs: status exact", false},
		{"heap per tracked idle task at 1,000,000 tasks <= 1,200 B", true},
		{"1,000,000 tracked tasks work", true},
	}
	got := checks(results, in)
	if len(got) != len(want) {
		t.Fatalf("%d checks, want %d: %+v", len(got), len(want), got)
	}
	for i, c := range got {
		if !strings.HasPrefix(c.target, want[i].target) || c.ok != want[i].ok {
			t.Errorf("check %d: %s (measured %s): ok %t; want %q, ok %t", i, c.target, c.measured, c.ok, want[i].target, want[i].ok)
		}
	}
}

// A target whose measurement did not run is missed, not met.
func TestChecksOfWhatDidNotRun(t *testing.T) {
	ceiling := result{scenario: scenario{id: "1", ceiling: "1"}, load: wrkResult{RPS: 1, P99: time.Millisecond}}
	results := summarize([]scenario{ceiling.scenario}, [][]result{{ceiling}})
	for _, c := range checks(results, inProcess{heap: []heapUse{{tasks: 100_000, bytes: 1}}}) {
		if c.ok {
			t.Errorf("%s: met with nothing measured (%s)", c.target, c.measured)
		}
	}
}

// -scenarios runs the scenarios it names with their ceilings, in the order
// of the table.
func TestScenariosRunWithTheirCeilings(t *testing.T) {
	tests := []struct {
		flag string   // -scenarios; "" for all
		want []string // the ids run
	}{
		{"", []string{"1", "2", "3", "4c", "4", "1b", "5", "5o"}},
		{"4", []string{"1", "4c", "4"}},
		{"5", []string{"1", "1b", "5"}},
		{"5,2", []string{"1", "2", "1b", "5"}},
		{"5o", []string{"1", "1b", "5", "5o"}},
		{"4c", []string{"1", "4c"}},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			var args []string
			if tt.flag != "" {
				args = []string{"-scenarios", tt.flag}
			}
			cfg, err := parseConfig(args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, sc := range scenarios(cfg) {
				got = append(got, sc.id)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("scenarios %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMedianOfRounds(t *testing.T) {
	ms := time.Millisecond
	round := func(rps float64, p50, p99 time.Duration, starts int) result {
		return result{scenario: scenario{id: "4"}, load: wrkResult{RPS: rps, P50: p50, P99: p99},
			tasks: &rate{ops: starts, elapsed: time.Second}}
	}
	got := medianOf([]result{round(300, 3*ms, 9*ms, 10), round(100, 1*ms, 30*ms, 20), round(200, 2*ms, 20*ms, 30)})
	if got.load.RPS != 200 || got.load.P50 != 2*ms || got.load.P99 != 20*ms {
		t.Errorf("medians %+v, want 200 req/s, p50 2ms, p99 20ms", got.load)
	}
	if got.tasks.ops != 60 || got.tasks.elapsed != 3*time.Second {
		t.Errorf("churn %+v, want the sum: 60 starts in 3s", *got.tasks)
	}
}

// Ratios are taken round by round, so that a round on a slower machine
// weighs like any other.
func TestRatiosAreMediansOfEachRoundsRatios(t *testing.T) {
	ms := time.Millisecond
	run := func(id string, rps float64, p99 time.Duration) result {
		return result{scenario: scenario{id: id}, load: wrkResult{RPS: rps, P99: p99}}
	}
	all := []scenario{{id: "1", ceiling: "1"}, {id: "1b", ceiling: "1"}, {id: "5", ceiling: "1b"}}
	rounds := [][]result{ // the second round ran on a machine half as fast
		{run("1", 100_000, 4*ms), run("1", 50_000, 8*ms), run("1", 90_000, 4*ms)},
		{run("1b", 80_000, 4*ms), run("1b", 40_000, 8*ms), run("1b", 80_000, 4*ms)},
		{run("5", 70_000, 6*ms), run("5", 40_000, 12*ms), run("5", 60_000, 8*ms)},
	}
	// Ratios of the medians would say 0.75 of (1b) and p99 2x.
	got := summarize(all, rounds)
	if vs := got[2].vs; vs.rps != 0.875 || vs.p99 != 1.5 {
		t.Errorf("(5) ratios %+v, want 0.875 of (1b), p99 1.5x", vs)
	}
	if vs := got[1].vs; vs.rps != 0.8 || vs.p99 != 1 {
		t.Errorf("(1b) ratios %+v, want 0.8 of (1), p99 1x", vs)
	}
}

func TestGrouped(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45678: "-45,678"} {
		if got := grouped(n); got != want {
			t.Errorf("grouped(%d) = %q, want %q", n, got, want)
		}
	}
}
