package actors

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
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
	MetricTaskActive   = "agentvisor.task.active"

	AttrTaskID      = "task.id"
	AttrTaskName    = "task.name"
	AttrTaskAttempt = "task.attempt"
	AttrTaskOutcome = "task.outcome"
	AttrSessionID   = "session.id"
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
	active                   metric.Int64UpDownCounter
	byName                   map[string]*nameTelemetry
}

// nameTelemetry is what every event of a task name reuses, built once:
// measurement options cost allocations that a task start should not pay.
type nameTelemetry struct {
	spanName string
	attrs    metric.MeasurementOption
	outcomes [OutcomeTimedOut + 1]metric.MeasurementOption // built when first needed
}

// NewTelemetry makes the task instruments with tp and mp.
func NewTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) (*Telemetry, error) {
	meter := mp.Meter(InstrumentationName)
	t := &Telemetry{tracer: tp.Tracer(InstrumentationName), byName: make(map[string]*nameTelemetry)}
	var errs [4]error
	t.started, errs[0] = meter.Int64Counter(MetricTaskStarted, metric.WithUnit("{task}"),
		metric.WithDescription("Tasks started, by task.name."))
	t.ended, errs[1] = meter.Int64Counter(MetricTaskEnded, metric.WithUnit("{task}"),
		metric.WithDescription("Tasks ended, by task.name and task.outcome."))
	t.restarts, errs[2] = meter.Int64Counter(MetricTaskRestarts, metric.WithUnit("{restart}"),
		metric.WithDescription("Restarts of failed tasks, by task.name."))
	t.active, errs[3] = meter.Int64UpDownCounter(MetricTaskActive, metric.WithUnit("{task}"),
		metric.WithDescription("Tasks counted as busy, by task.name."))
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("task instruments: %w", err)
		}
	}
	return t, nil
}

// noTelemetry reports nothing.
func noTelemetry() *Telemetry {
	t, err := NewTelemetry(tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider())
	if err != nil {
		panic(fmt.Sprintf("no-op instruments: %v", err)) // the no-op meter never fails
	}
	return t
}

func (t *Telemetry) of(name string) *nameTelemetry {
	if n := t.byName[name]; n != nil {
		return n
	}
	n := &nameTelemetry{spanName: "task " + name, attrs: metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrTaskName, name)))}
	if len(t.byName) < maxNamesCached {
		t.byName[name] = n
	}
	return n
}

func (n *nameTelemetry) withOutcome(name string, o Outcome) metric.MeasurementOption {
	if n.outcomes[o] == nil {
		n.outcomes[o] = metric.WithAttributeSet(attribute.NewSet(
			attribute.String(AttrTaskName, name), attribute.String(AttrTaskOutcome, o.String())))
	}
	return n.outcomes[o]
}

// counter is what add records on: a counter or an up-down counter.
type counter interface {
	Enabled(context.Context) bool
	Add(context.Context, int64, ...metric.AddOption)
}

// add records n with attrs only if c is enabled: options passed to an
// instrument's interface method escape, an allocation that a process
// exporting no metrics should not pay for every task.
func add(c counter, n int64, attrs metric.MeasurementOption) {
	if c.Enabled(context.Background()) {
		c.Add(context.Background(), n, attrs)
	}
}

// taskStarted counts a task in; its first attempt's span has started.
func (t *Telemetry) taskStarted(rec *taskRecord) {
	add(t.started, 1, t.of(rec.node.Name).attrs)
}

// notStarted ends the span of a task whose actor could not start.
func (t *Telemetry) notStarted(rec *taskRecord, err error) {
	rec.span.SetStatus(codes.Error, err.Error())
	rec.span.End()
}

// counted follows the tasks counted as busy: delta is 1 or -1.
func (t *Telemetry) counted(rec *taskRecord, delta int) {
	add(t.active, int64(delta), t.of(rec.node.Name).attrs)
}

// startAttempt starts the span of rec's next attempt, linked to the span
// that started the task (a task outlives the request that started it: a
// link, not a child).
func (t *Telemetry) startAttempt(rec *taskRecord) {
	_, span := t.tracer.Start(context.Background(), t.of(rec.node.Name).spanName)
	rec.span = span
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(
		attribute.Int64(AttrTaskID, int64(rec.node.ID)),
		attribute.String(AttrTaskName, rec.node.Name),
		attribute.Int(AttrTaskAttempt, rec.node.Restarts+1),
	)
	if session := rec.spec.Baggage.Member(AttrSessionID).Value(); session != "" {
		span.SetAttributes(attribute.String(AttrSessionID, session))
	}
	if rec.spec.Link.IsValid() {
		span.AddLink(trace.Link{SpanContext: rec.spec.Link})
	}
}

// attemptFailed records a failed attempt's error on its span, with the
// stack of a panic.
func (t *Telemetry) attemptFailed(rec *taskRecord, m *attemptFailed) {
	if rec.span == nil || !rec.span.IsRecording() {
		return
	}
	var opts []trace.EventOption
	if len(m.Stack) > 0 {
		opts = append(opts, trace.WithAttributes(attribute.String("exception.stacktrace", string(m.Stack))))
	}
	rec.span.RecordError(m.Err, opts...)
	rec.span.SetStatus(codes.Error, m.Err.Error())
}

// backingOff ends a failed attempt's span with the restart that follows it
// after backoff.
func (t *Telemetry) backingOff(rec *taskRecord, backoff time.Duration) {
	rec.span.AddEvent(EventRestart, trace.WithAttributes(attribute.Float64(AttrBackoff, backoff.Seconds())))
	rec.span.End()
	rec.span = nil
}

// restarted counts a restart and starts the new attempt's span.
func (t *Telemetry) restarted(rec *taskRecord) {
	add(t.restarts, 1, t.of(rec.node.Name).attrs)
	t.startAttempt(rec)
}

// concluded counts the task's end and ends the span of its last attempt,
// if still open, with the task's outcome.
func (t *Telemetry) concluded(rec *taskRecord) {
	if t.ended.Enabled(context.Background()) {
		t.ended.Add(context.Background(), 1, t.of(rec.node.Name).withOutcome(rec.node.Name, rec.outcome))
	}
	span := rec.span
	rec.span = nil
	if span == nil {
		return
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.String(AttrTaskOutcome, rec.outcome.String()))
		switch rec.outcome {
		case OutcomeFailed, OutcomeTimedOut, OutcomeAbandoned:
			span.SetStatus(codes.Error, rec.err.Error())
		}
	}
	span.End()
}
