package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// run measures everything and prints the report on stdout, progress on
// stderr. Missed targets are reported, not returned: it returns an error
// only when a measurement broke.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "agentbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gen, err := newLoadGen(cfg, dir)
	if err != nil {
		return err
	}
	telemetryOff()
	results, err := profiled(cfg.cpuProfile, func() ([]result, error) { return runHTTP(ctx, cfg, gen, stderr) })
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "agentbench: in-process figures...")
	in, err := measureInProcess(ctx, cfg)
	if err != nil {
		return fmt.Errorf("in-process: %w", err)
	}
	return report(stdout, cfg, results, in)
}

// profiled runs f under the CPU profiler when file is not empty.
func profiled[T any](file string, f func() (T, error)) (T, error) {
	if file == "" {
		return f()
	}
	var zero T
	out, err := os.Create(file)
	if err != nil {
		return zero, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		return zero, errors.Join(fmt.Errorf("cpu profile: %w", err), out.Close())
	}
	res, err := f()
	pprof.StopCPUProfile()
	return res, errors.Join(err, out.Close())
}
