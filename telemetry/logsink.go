package telemetry

import (
	"slices"

	"github.com/go-logr/logr"
	"github.com/rs/zerolog"
)

// logSink is otel's internal log (otel.SetLogger) on zerolog. otel reports
// there what an error handler does not get: a conflicting instrument, a
// malformed variable it reads later. Its levels are logr verbosities: Warn
// is V(1), Info V(4), Debug V(8); errors are logged at warn, as telemetry
// never stops the agent.
type logSink struct {
	log    zerolog.Logger
	values []any // key-value pairs from WithValues
}

func (s logSink) Init(logr.RuntimeInfo) {}

func (s logSink) Enabled(verbosity int) bool { return levelOf(verbosity) >= s.log.GetLevel() }

func (s logSink) Info(verbosity int, msg string, keysAndValues ...any) {
	s.log.WithLevel(levelOf(verbosity)).Fields(append(slices.Clip(s.values), keysAndValues...)).Msg(msg)
}

func (s logSink) Error(err error, msg string, keysAndValues ...any) {
	s.log.Warn().Err(err).Fields(append(slices.Clip(s.values), keysAndValues...)).Msg(msg)
}

func (s logSink) WithValues(keysAndValues ...any) logr.LogSink {
	s.values = append(slices.Clip(s.values), keysAndValues...)
	return s
}

// WithName adds nothing: the lines' component field says telemetry.
func (s logSink) WithName(string) logr.LogSink { return s }

func levelOf(verbosity int) zerolog.Level {
	switch {
	case verbosity <= 1:
		return zerolog.WarnLevel
	case verbosity <= 4:
		return zerolog.DebugLevel
	default:
		return zerolog.TraceLevel
	}
}
