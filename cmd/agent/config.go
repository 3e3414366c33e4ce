package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// config is the agent's command line, after the environment fallbacks.
type config struct {
	addr         string
	debug        bool
	logLevel     zerolog.Level
	logFormat    string
	drainTimeout time.Duration
	idleTimeout  time.Duration
	metricsAddr  string // serve Prometheus metrics there; "" = off
	version      bool   // print versionLine and exit
}

// version and commit are stamped at build time (make image, the Dockerfile):
// go build -ldflags "-X main.version=v1.2.3 -X main.commit=<sha>".
var version, commit = "dev", "unknown"

// versionLine is what -version prints.
func versionLine() string {
	return fmt.Sprintf("agent %s (commit %s, %s)", version, commit, runtime.Version())
}

// errUsage is a command line the agent cannot run with.
var errUsage = errors.New("usage")

// parseConfig reads args, falling back on the environment for each flag not
// given. Usage goes to usage, only when asked for or on a bad flag.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() {
		fmt.Fprintln(usage, "usage: agent [flags]      serve the seed agent\n       agent tree [flags] print a running agent's actor tree (agent tree -h)\n"+
			"Each flag falls back on the environment variable named in its help:\na flag given wins over its environment variable (-addr over PORT).")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", defaultAddr(getenv), "listen address (env PORT sets the port of the default)")
	debug := fs.Bool("debug", getenv("AGENT_DEBUG") == "1", "turn on debug mode: the contract's debug actions and the /debug/ actor tree (env AGENT_DEBUG=1)")
	level := fs.String("log-level", orDefault(getenv("AGENT_LOG_LEVEL"), "info"), "trace, debug, info, warn or error (env AGENT_LOG_LEVEL)")
	format := fs.String("log-format", orDefault(getenv("AGENT_LOG_FORMAT"), "json"), "json, or console: text for people, coloured on a terminal (env AGENT_LOG_FORMAT)")
	drain := fs.String("drain-timeout", orDefault(getenv("AGENT_DRAIN_TIMEOUT"), "10s"), "how long a stop waits for tasks (env AGENT_DRAIN_TIMEOUT)")
	showVersion := fs.Bool("version", false, "print the version and commit, and exit")
	idle := fs.String("idle-timeout", orDefault(getenv("AGENT_IDLE_TIMEOUT"), "900"),
		"the platform's idle session timeout the debug views assume: seconds (900) or a duration (15m) (env AGENT_IDLE_TIMEOUT)")
	metricsAddr := fs.String("metrics-addr", getenv("AGENT_METRICS_ADDR"),
		"serve Prometheus metrics at http://<addr>/metrics, a listener of its own; default off (env AGENT_METRICS_ADDR)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if *showVersion {
		return config{version: true}, nil // whatever the environment says
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	cfg, err := validate(*addr, *debug, *level, *format, *drain)
	if err != nil {
		return cfg, err
	}
	if cfg.idleTimeout, err = parseIdleTimeout(*idle); err != nil {
		return cfg, err
	}
	cfg.metricsAddr, err = parseMetricsAddr(*metricsAddr)
	return cfg, err
}

// parseMetricsAddr checks a host:port; empty is off.
func parseMetricsAddr(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("%w: -metrics-addr %q: %w", errUsage, addr, err)
	}
	return addr, nil
}

// parseIdleTimeout reads whole seconds, as the runtime's
// lifecycleConfiguration gives them, or a duration.
func parseIdleTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if n, nerr := strconv.ParseInt(s, 10, 64); nerr == nil && n <= math.MaxInt64/int64(time.Second) {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: -idle-timeout %q: want seconds like 900 or a duration like 15m, > 0", errUsage, s)
	}
	return d, nil
}

func validate(addr string, debug bool, level, format, drain string) (config, error) {
	cfg := config{addr: addr, debug: debug, logFormat: format}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return cfg, fmt.Errorf("%w: -addr %q: %w", errUsage, addr, err)
	}
	var err error
	if cfg.logLevel, err = zerolog.ParseLevel(level); err != nil || level == "" {
		return cfg, fmt.Errorf("%w: -log-level %q", errUsage, level)
	}
	if format != "json" && format != "console" {
		return cfg, fmt.Errorf("%w: -log-format %q: want json or console", errUsage, format)
	}
	if cfg.drainTimeout, err = time.ParseDuration(drain); err != nil || cfg.drainTimeout < 0 {
		return cfg, fmt.Errorf("%w: -drain-timeout %q: want a duration >= 0 like 10s", errUsage, drain)
	}
	return cfg, nil
}

// defaultAddr listens on every interface, as the platform needs, on PORT or 8080.
func defaultAddr(getenv func(string) string) string {
	return net.JoinHostPort("0.0.0.0", orDefault(getenv("PORT"), "8080"))
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
