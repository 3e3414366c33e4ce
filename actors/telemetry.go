package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/agentvisor/agentvisor/internal/errtext"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// InstrumentationName names the tracer and meter of agentvisor's task
// telemetry.
const InstrumentationName = "github.com/agentvisor/agentvisor"

// The task metrics and the attributes of task spans and metrics.
const (
	MetricTaskStarted  = "agentvisor.task.started"
	MetricTaskEnded    = "agentvisor.task.ended"
	MetricTaskRestarts = "agentvisor.task.restarts"

	AttrTaskID      = "task.id"
	AttrTaskName    = "task.name"
	AttrTaskAttempt = "task.attempt"
	AttrTaskOutcome = "task.outcome"
	// AttrSessionID is the semantic conventions' session.id, a baggage
	// member and a span attribute alike.
	AttrSessionID = string(semconv.SessionIDKey)
	// EventRestart is the event on a failed attempt's span that a restart
	// follows, with AttrBackoff, the delay before it, in seconds.
	EventRestart = "task.restart"
	AttrBackoff  = "task.restart.backoff_seconds"
)

// maxNamesCached bounds the per-name measurement options the telemetry
// keeps: task names come from code and are few, but a program that puts ids
// in them must not grow a map for ever.
const maxNamesCached = 1000

// Telemetry reports tasks to OpenTelemetry: a span per attempt of a task's
// function (a hand-tracked task is one attempt long), and the task
// counters. The task supervisor calls it on its own goroutine only.
type Telemetry struct {
	tracer                   trace.Tracer
	started, ended, restarts metric.Int64Counter
	byName                   map[string]*nameTelemetry
	traces                   map[TaskID]*taskTrace
	log                      zerolog.Logger
}

// nameTelemetry is what every event of a task name reuses, built once:
// measurement options cost allocations that a task start should not pay.
type nameTelemetry struct {
	name     string // the task name, made UTF-8 (errtext.UTF8)
	spanName string
	attrs    metric.MeasurementOption
	outcomes [OutcomeTimedOut + 1]metric.MeasurementOption // built when first needed
}

// NewTelemetry makes the task instruments with tp and mp; log hears of a
// provider that panics.
func NewTelemetry(tp trace.TracerProvider, mp metric.MeterProvider, log zerolog.Logger) (*Telemetry, error) {
	meter := mp.Meter(InstrumentationName)
	t := &Telemetry{tracer: tp.Tracer(InstrumentationName), byName: make(map[string]*nameTelemetry), traces: make(map[TaskID]*taskTrace), log: log}
	var errs [3]error
	t.started, errs[0] = meter.Int64Counter(MetricTaskStarted, metric.WithUnit("{task}"),
		metric.WithDescription("Tasks started, by task.name."))
	t.ended, errs[1] = meter.Int64Counter(MetricTaskEnded, metric.WithUnit("{task}"),
		metric.WithDescription("Tasks ended, by task.name and task.outcome."))
	t.restarts, errs[2] = meter.Int64Counter(MetricTaskRestarts, metric.WithUnit("{restart}"),
		metric.WithDescription("Restarts of failed tasks, by task.name."))
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("task instruments: %w", err)
		}
	}
	return t, nil
}

// noTelemetry reports nothing.
func noTelemetry() *Telemetry {
	t, err := NewTelemetry(tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider(), zerolog.Nop())
	if err != nil {
		panic(fmt.Sprintf("no-op instruments: %v", err)) // the no-op meter never fails
	}
	return t
}

func (t *Telemetry) of(name string) *nameTelemetry {
	if n := t.byName[name]; n != nil {
		return n
	}
	valid := errtext.UTF8(name)
	n := &nameTelemetry{name: valid, spanName: "task " + valid, attrs: metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrTaskName, valid)))}
	if len(t.byName) < maxNamesCached {
		t.byName[name] = n
	}
	return n
}

func (n *nameTelemetry) withOutcome(o Outcome) metric.MeasurementOption {
	if n.outcomes[o] == nil {
		n.outcomes[o] = metric.WithAttributeSet(attribute.NewSet(
			attribute.String(AttrTaskName, n.name), attribute.String(AttrTaskOutcome, o.String())))
	}
	return n.outcomes[o]
}

// add records n with attrs only if c is enabled: options passed to an
// instrument's interface method escape, an allocation that a process
// exporting no metrics should not pay for every task.
func add(c metric.Int64Counter, n int64, attrs metric.MeasurementOption) {
	if c.Enabled(context.Background()) {
		c.Add(context.Background(), n, attrs)
	}
}

// taskTrace is what the telemetry keeps of a task between its events, only
// while it has something to keep: the request that started it, and the
// span of its current attempt.
type taskTrace struct {
	origin *Origin
	span   trace.Span // nil between attempts
}

// attemptTrace is what an attempt's context carries: its span, and the
// baggage of the request that started the task.
type attemptTrace struct {
	span    trace.Span
	baggage baggage.Baggage
}

// guard keeps a panic of the providers (a span processor's, say) from the
// task supervisor, whose state must stay right whatever telemetry does;
// every method the task supervisor calls defers it.
func (t *Telemetry) guard(rec *taskRecord) {
	if r := recover(); r != nil {
		t.log.Error().Uint64("task_id", uint64(rec.node.ID)).Str("panic", fmt.Sprint(r)).Msg("telemetry panicked; the task goes on")
	}
}

// taskStarted counts a task in; its first attempt's span has started.
func (t *Telemetry) taskStarted(rec *taskRecord) {
	defer t.guard(rec)
	add(t.started, 1, t.of(rec.node.Name).attrs)
}

// notStarted ends the span of a task whose actor could not start.
func (t *Telemetry) notStarted(rec *taskRecord, err error) {
	defer t.guard(rec)
	if tt := t.traces[rec.node.ID]; tt != nil && tt.span != nil {
		tt.span.SetStatus(codes.Error, err.Error())
		tt.span.End()
	}
	delete(t.traces, rec.node.ID)
}

// firstAttempt starts the span of a task's first attempt; origin is the
// request that started it, nil if unknown.
func (t *Telemetry) firstAttempt(rec *taskRecord, origin *Origin) (at *attemptTrace) {
	defer t.guard(rec)
	if origin != nil {
		t.traces[rec.node.ID] = &taskTrace{origin: origin}
	}
	return t.startAttempt(rec)
}

// startAttempt starts the span of rec's next attempt, linked to the span
// of the request that started the task (a task outlives that request: a
// link, not a child), and returns what the attempt's context carries; nil
// when telemetry is off and the task has no origin, so that an idle task
// holds nothing for it.
func (t *Telemetry) startAttempt(rec *taskRecord) *attemptTrace {
	tt := t.traces[rec.node.ID]
	_, span := t.tracer.Start(context.Background(), t.of(rec.node.Name).spanName)
	if !span.IsRecording() && !span.SpanContext().IsValid() {
		if tt == nil || tt.origin == nil {
			return nil
		}
		return &attemptTrace{baggage: tt.origin.Baggage}
	}
	if tt == nil {
		tt = &taskTrace{}
		t.traces[rec.node.ID] = tt
	}
	tt.span = span
	at := &attemptTrace{span: span}
	if tt.origin != nil {
		at.baggage = tt.origin.Baggage
	}
	if span.IsRecording() {
		t.describe(span, rec, tt.origin)
	}
	return at
}

// describe sets an attempt span's attributes and link.
func (t *Telemetry) describe(span trace.Span, rec *taskRecord, origin *Origin) {
	span.SetAttributes(
		attribute.Int64(AttrTaskID, int64(rec.node.ID)),
		attribute.String(AttrTaskName, t.of(rec.node.Name).name),
		attribute.Int(AttrTaskAttempt, rec.node.Restarts+1),
	)
	if origin == nil {
		return
	}
	if session := origin.Baggage.Member(AttrSessionID).Value(); session != "" { // baggage values are UTF-8
		span.SetAttributes(attribute.String(AttrSessionID, session))
	}
	if origin.Link.IsValid() {
		span.AddLink(trace.Link{SpanContext: origin.Link})
	}
}

// span is the recording span of rec's current attempt, or nil.
func (t *Telemetry) span(rec *taskRecord) trace.Span {
	if tt := t.traces[rec.node.ID]; tt != nil && tt.span != nil && tt.span.IsRecording() {
		return tt.span
	}
	return nil
}

// attemptFailed records a failed attempt's error on its span, with the
// stack of a panic.
func (t *Telemetry) attemptFailed(rec *taskRecord, m *attemptFailed) {
	defer t.guard(rec)
	span := t.span(rec)
	if span == nil {
		return
	}
	var opts []trace.EventOption
	if len(m.Stack) > 0 {
		opts = append(opts, trace.WithAttributes(attribute.String("exception.stacktrace", string(m.Stack))))
	}
	err := errtext.UTF8Error(m.Err)
	span.RecordError(err, opts...)
	span.SetStatus(codes.Error, err.Error())
}

// backingOff ends a failed attempt's span with the restart that follows it
// after backoff.
func (t *Telemetry) backingOff(rec *taskRecord, backoff time.Duration) {
	defer t.guard(rec)
	tt := t.traces[rec.node.ID]
	if tt == nil || tt.span == nil {
		return
	}
	tt.span.AddEvent(EventRestart, trace.WithAttributes(attribute.Float64(AttrBackoff, backoff.Seconds())))
	tt.span.End()
	tt.span = nil
}

// restarted counts a restart and starts the new attempt's span.
func (t *Telemetry) restarted(rec *taskRecord) (at *attemptTrace) {
	defer t.guard(rec)
	add(t.restarts, 1, t.of(rec.node.Name).attrs)
	return t.startAttempt(rec)
}

// concluded counts the task's end and ends the span of its last attempt,
// if still open, with the task's outcome; the task's trace is forgotten.
func (t *Telemetry) concluded(rec *taskRecord) {
	defer t.guard(rec)
	add(t.ended, 1, t.of(rec.node.Name).withOutcome(rec.outcome))
	tt := t.traces[rec.node.ID]
	delete(t.traces, rec.node.ID)
	if tt == nil || tt.span == nil {
		return
	}
	if tt.span.IsRecording() {
		tt.span.SetAttributes(attribute.String(AttrTaskOutcome, rec.outcome.String()))
		switch rec.outcome {
		case OutcomeFailed, OutcomeTimedOut, OutcomeAbandoned:
			tt.span.SetStatus(codes.Error, errtext.UTF8(rec.err.Error()))
		}
	}
	tt.span.End()
}
