package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
	for _, want := range []string{"(1) ", "(1b)", "(2) ", "(3) ", "(4) ", "(5) ", "75,720", "637µs", "7.9ms",
		"(4) churn: ", "pairs/s", "tasks/s", "heap per tracked idle task at 500 tasks", "targets met"} {
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

// checkLoads checks that each of the six scenarios got the same load, and
// that exactly the POST scenarios got the POST script.
func checkLoads(t *testing.T, runs []string) {
	t.Helper()
	if len(runs) != 6 {
		t.Fatalf("%d wrk runs, want 6: %q", len(runs), runs)
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
	if !strings.Contains(stdout.String(), "targets met") {
		t.Fatalf("no targets in the report:\n%s", stdout.String())
	}
}

func TestChecksCompareWithTheCeiling(t *testing.T) {
	ms := time.Millisecond
	load := func(id string, rps float64, p99 time.Duration) result {
		return result{scenario: scenario{id: id}, load: wrkResult{RPS: rps, P99: p99}}
	}
	one := []result{
		load("1", 100_000, 4*ms),
		load("2", 85_000, 8*ms),  // both at their limits: met
		load("3", 84_000, 9*ms),  // both just beyond: missed
		load("4", 70_000, 2*ms),  // churn's lower limit: met
		load("1b", 90_000, 5*ms), // the POST ceiling: no target of its own
		load("5", 69_000, 50*ms), // invocations: missed
	}
	one[3].tasks = &rate{ops: 10, elapsed: time.Second}
	all := make([]scenario, len(one))
	rounds := make([][]result, len(one))
	for i, r := range one {
		all[i], rounds[i] = r.scenario, []result{r}
	}
	results := summarize(all, rounds)
	in := inProcess{
		pairs: rate{ops: 200_000, elapsed: time.Second},
		gos:   rate{ops: 99_999, elapsed: time.Second},
		heap:  []heapUse{{tasks: 1_000_000, bytes: 2048 * 1_000_000}},
	}
	want := []bool{true, true, false, false, true, true, true, false, true, false, true, true}
	got := checks(results, in)
	if len(got) != len(want) {
		t.Fatalf("%d checks, want %d: %+v", len(got), len(want), got)
	}
	for i, c := range got {
		if c.ok != want[i] {
			t.Errorf("%s (measured %s): ok %t, want %t", c.target, c.measured, c.ok, want[i])
		}
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
	all := []scenario{{id: "1"}, {id: "1b"}, {id: "5"}}
	rounds := [][]result{ // the second round ran on a machine half as fast
		{run("1", 100_000, 4*ms), run("1", 50_000, 8*ms), run("1", 90_000, 4*ms)},
		{run("1b", 80_000, 4*ms), run("1b", 40_000, 8*ms), run("1b", 80_000, 4*ms)},
		{run("5", 70_000, 6*ms), run("5", 40_000, 12*ms), run("5", 60_000, 8*ms)},
	}
	// Ratios of the medians would say 0.67, 2x and 0.75.
	vs := summarize(all, rounds)[2].vs
	if vs.rps != 0.7 || vs.p99 != 1.5 || vs.rpsPost != 0.875 {
		t.Fatalf("ratios %+v, want 0.7 of (1), p99 1.5x, 0.875 of (1b)", vs)
	}
}

func TestGrouped(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45678: "-45,678"} {
		if got := grouped(n); got != want {
			t.Errorf("grouped(%d) = %q, want %q", n, got, want)
		}
	}
}
