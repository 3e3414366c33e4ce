package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/internal/platform"
)

// config is the command line.
type config struct {
	addr      string
	logFormat string
	platform  platform.Config
}

// errUsage is a command line the emulator cannot run with.
var errUsage = errors.New("usage")

// parseConfig reads args; usage goes to usage, only when asked for or on a
// bad flag.
func parseConfig(args []string, usage io.Writer) (config, error) {
	fs := flag.NewFlagSet("agentcore-local", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() {
		fmt.Fprintln(usage, "usage: agentcore-local [flags] -- agent-command [agent args]\n"+
			"Stands in for AgentCore Runtime: one agent process per session, ended as the platform ends it.")
		fs.PrintDefaults()
	}
	var cfg config
	p := &cfg.platform
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8090", "listen address of the data-plane API")
	fs.DurationVar(&p.IdleTimeout, "idle-timeout", platform.DefaultIdleTimeout, "end a session idle this long (idleRuntimeSessionTimeout)")
	fs.DurationVar(&p.MaxLifetime, "max-lifetime", platform.DefaultMaxLifetime, "end a session this long after it started, whatever its status (maxLifetime)")
	fs.DurationVar(&p.PingInterval, "ping-interval", platform.DefaultPingInterval, "how often each session's /ping is polled")
	fs.DurationVar(&p.StopGrace, "stop-grace", platform.DefaultStopGrace, "time between SIGTERM and SIGKILL when a session ends")
	fs.DurationVar(&p.StartTimeout, "start-timeout", platform.DefaultStartTimeout, "time from an agent's start to its first /ping answer")
	fs.StringVar(&cfg.logFormat, "log-format", "auto", "auto (console on a terminal, else json), json or console")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	p.Command = fs.Args()
	return cfg, validate(cfg)
}

func validate(cfg config) error {
	if len(cfg.platform.Command) == 0 {
		return fmt.Errorf("%w: no agent command: agentcore-local [flags] -- ./bin/agent", errUsage)
	}
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return fmt.Errorf("%w: -addr %q: %w", errUsage, cfg.addr, err)
	}
	p := cfg.platform
	for name, d := range map[string]time.Duration{"-idle-timeout": p.IdleTimeout, "-max-lifetime": p.MaxLifetime,
		"-ping-interval": p.PingInterval, "-stop-grace": p.StopGrace, "-start-timeout": p.StartTimeout} {
		if d <= 0 {
			return fmt.Errorf("%w: %s %v: want a duration > 0 like 60s", errUsage, name, d)
		}
	}
	switch cfg.logFormat {
	case "auto", "json", "console":
		return nil
	}
	return fmt.Errorf("%w: -log-format %q: want auto, json or console", errUsage, cfg.logFormat)
}

// run serves the emulator until ctx is done, then ends every session.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(cfg.logFormat, stderr)
	warnOutsidePlatform(log, cfg.platform)
	cfg.platform.Logger = log
	cfg.platform.AgentOutput = stderr
	e, err := platform.New(cfg.platform)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen: %w", err), e.Close(ctx))
	}
	return e.Run(ctx, ln)
}

// warnOutsidePlatform says when a lifecycle setting is one the platform
// would refuse (60 s to 8 h): allowed here, to see a lifecycle in seconds.
func warnOutsidePlatform(log zerolog.Logger, p platform.Config) {
	for name, d := range map[string]time.Duration{"idle_timeout": p.IdleTimeout, "max_lifetime": p.MaxLifetime} {
		if d < time.Minute || d > 8*time.Hour {
			log.Warn().Dur(name, d).Msg("outside the platform's range, 60 s to 8 h: fine for a test, not deployable")
		}
	}
}

// newLogger writes JSON lines, or console text on a terminal (auto) or on
// request, coloured only on a terminal.
func newLogger(format string, w io.Writer) zerolog.Logger {
	if format == "console" || (format == "auto" && isTerminal(w)) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000", NoColor: !isTerminal(w)}
	}
	return zerolog.New(w).With().Timestamp().Logger()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
