package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrUsage is a flag value out of range.
var ErrUsage = errors.New("invalid flag")

// config is one benchmark run's knobs; see the package doc for the flags.
type config struct {
	duration    time.Duration // each wrk run, whole seconds
	rounds      int           // runs of each HTTP scenario, and of each in-process rate, interleaved
	scenarios   []string      // the ids of the HTTP scenarios to run; all when empty
	cpuProfile  string        // file for a CPU profile of the HTTP scenarios; none when empty
	connections int           // wrk keep-alive connections
	threads     int           // wrk threads
	wrk         string        // wrk binary, looked up in PATH
	tracked     int           // tasks tracked in scenario 3
	churners    int           // goroutines starting tasks in scenarios 4c and 4
	callers     int           // goroutines calling the API in the in-process figures
	ops         int           // actors spawned and stopped, pairs, and Go tasks, in the in-process rates
	heapTasks   []int         // tracked-task counts for the heap per task
}

// quick is what -quick sets, for the flags not given explicitly: about a
// second per measurement, for CI and tests.
var quick = map[string]string{
	"duration":   "1s",
	"rounds":     "1",
	"ops":        "20000",
	"heap-tasks": "100000",
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	cfg := config{heapTasks: []int{100_000, 1_000_000}}
	fs := flag.NewFlagSet("agentbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&cfg.duration, "duration", 4*time.Second, "load time of each wrk run (whole seconds, as wrk takes them)")
	fs.IntVar(&cfg.rounds, "rounds", 3, "runs of each HTTP scenario and each in-process rate, interleaved; the report shows the medians")
	fs.Func("scenarios", "comma-separated ids of the HTTP scenarios to run, e.g. 4,5 (their ceilings, e.g. 4c and 1b, and 1 always run too; default all)", func(s string) error {
		ids, err := parseIDs(s)
		cfg.scenarios = ids
		return err
	})
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the HTTP scenarios (server and churn) to this file")
	fs.IntVar(&cfg.connections, "connections", 64, "wrk keep-alive connections")
	fs.IntVar(&cfg.threads, "threads", 2, "wrk threads")
	fs.StringVar(&cfg.wrk, "wrk", "wrk", "the wrk binary")
	fs.IntVar(&cfg.tracked, "tracked", 10_000, "tasks tracked during scenario 3")
	fs.IntVar(&cfg.churners, "churners", 4, "goroutines starting and ending tasks during scenarios 4c and 4")
	fs.IntVar(&cfg.callers, "callers", 64, "concurrent callers in the in-process figures")
	fs.IntVar(&cfg.ops, "ops", 500_000, "empty actors spawned and stopped, AddAsyncTask+CompleteAsyncTask pairs, and Go tasks, per in-process rate")
	fs.Func("heap-tasks", "comma-separated tracked-task counts for the heap per task (default 100000,1000000; the target is at 1000000)", func(s string) error {
		n, err := parseCounts(s)
		cfg.heapTasks = n
		return err
	})
	isQuick := fs.Bool("quick", false, "about one second per measurement: -duration 1s -rounds 1 -ops 20000 -heap-tasks 100000, unless given")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q: %w", fs.Args(), ErrUsage)
	}
	if *isQuick {
		if err := applyQuick(fs); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.validate()
}

// applyQuick sets the quick values of the flags the command line left alone.
func applyQuick(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, value := range quick {
		if given[name] {
			continue
		}
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("-quick -%s=%s: %w", name, value, err)
		}
	}
	return nil
}

func parseCounts(s string) ([]int, error) {
	var counts []int
	for _, field := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("count %q: want a positive integer: %w", field, ErrUsage)
		}
		counts = append(counts, n)
	}
	return counts, nil
}

// scenarioIDs are the ids -scenarios accepts.
var scenarioIDs = []string{"1", "1b", "2", "3", "4c", "4", "5", "5o"}

func parseIDs(s string) ([]string, error) {
	var ids []string
	for _, field := range strings.Split(s, ",") {
		id := strings.TrimSpace(field)
		if !slices.Contains(scenarioIDs, id) {
			return nil, fmt.Errorf("scenario %q: want one of %s: %w", id, strings.Join(scenarioIDs, ", "), ErrUsage)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (c config) validate() error {
	if c.duration < time.Second || c.duration%time.Second != 0 {
		return fmt.Errorf("-duration %s: wrk takes whole seconds, at least 1s: %w", c.duration, ErrUsage)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"rounds", c.rounds}, {"connections", c.connections}, {"threads", c.threads}, {"tracked", c.tracked},
		{"churners", c.churners}, {"callers", c.callers}, {"ops", c.ops},
	} {
		if f.v < 1 {
			return fmt.Errorf("-%s %d: want at least 1: %w", f.name, f.v, ErrUsage)
		}
	}
	if c.threads > c.connections {
		return fmt.Errorf("-threads %d above -connections %d: %w", c.threads, c.connections, ErrUsage)
	}
	return nil
}
