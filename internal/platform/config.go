package platform

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// The platform's defaults: lifecycleConfiguration's idleRuntimeSessionTimeout
// (900 s) and maxLifetime (28,800 s), the measured ping period (about 2 s) and
// the documented termination time (up to 15 s).
const (
	DefaultIdleTimeout  = 900 * time.Second
	DefaultMaxLifetime  = 8 * time.Hour
	DefaultPingInterval = 2 * time.Second
	DefaultStopGrace    = 15 * time.Second
	DefaultStartTimeout = 30 * time.Second
	DefaultPingTimeout  = 2 * time.Second
)

// unhealthyAfter is how many failed pings in a row end a session.
const unhealthyAfter = 3

// Config is an Emulator's configuration. Zero durations take the defaults.
type Config struct {
	// Command is the agent: the program and its arguments, started once per
	// session with PORT set to a free loopback port. Required.
	Command []string
	// IdleTimeout ends a session idle this long (idleRuntimeSessionTimeout).
	IdleTimeout time.Duration
	// MaxLifetime ends a session this long after it started, whatever its
	// status (maxLifetime).
	MaxLifetime time.Duration
	// PingInterval is how often each session's /ping is polled.
	PingInterval time.Duration
	// PingTimeout bounds one /ping; a ping that takes longer has failed.
	PingTimeout time.Duration
	// StopGrace is how long a terminated agent has between SIGTERM and
	// SIGKILL.
	StopGrace time.Duration
	// StartTimeout bounds a new agent's start: from the process's start to
	// its first 200 from /ping.
	StartTimeout time.Duration
	// Logger takes one line per lifecycle event, under component=platform.
	Logger zerolog.Logger
	// AgentOutput takes the agents' stdout and stderr, unchanged; nil is
	// os.Stderr.
	AgentOutput io.Writer

	// launch starts an agent; nil starts Command. Tests of the lifecycle
	// rules replace it with agents that need no process.
	launch launcher
}

// ErrConfig is a Config the Emulator cannot run with.
var ErrConfig = errors.New("platform config")

// withDefaults fills the zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if len(c.Command) == 0 && c.launch == nil {
		return c, fmt.Errorf("%w: no agent command", ErrConfig)
	}
	for _, d := range []struct {
		field *time.Duration
		def   time.Duration
		name  string
	}{
		{&c.IdleTimeout, DefaultIdleTimeout, "IdleTimeout"},
		{&c.MaxLifetime, DefaultMaxLifetime, "MaxLifetime"},
		{&c.PingInterval, DefaultPingInterval, "PingInterval"},
		{&c.PingTimeout, DefaultPingTimeout, "PingTimeout"},
		{&c.StopGrace, DefaultStopGrace, "StopGrace"},
		{&c.StartTimeout, DefaultStartTimeout, "StartTimeout"},
	} {
		if *d.field < 0 {
			return c, fmt.Errorf("%w: %s %v is negative", ErrConfig, d.name, *d.field)
		}
		if *d.field == 0 {
			*d.field = d.def
		}
	}
	if c.AgentOutput == nil {
		c.AgentOutput = os.Stderr
	}
	return c, nil
}
