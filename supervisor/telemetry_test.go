package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

// observed is a supervisor whose telemetry goes to in-memory exporters.
type observed struct {
	sup    *supervisor.Supervisor
	spans  *tracetest.SpanRecorder
	tracer trace.Tracer // stands for the HTTP layer: the request's spans
	reader *sdkmetric.ManualReader
}

func newObserved(t *testing.T) *observed {
	t.Helper()
	o := &observed{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(o.spans))
	o.tracer = tp.Tracer("test")
	o.sup, _ = mustNew(t, supervisor.Config{TracerProvider: tp, MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(o.reader))})
	return o
}

// request returns the context of a request in session sess, as an httpapi
// handler gets it: with the request's span and its baggage.
func (o *observed) request(t *testing.T, sess string) (context.Context, trace.Span) {
	t.Helper()
	member, err := baggage.NewMember("session.id", sess)
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.New(member)
	if err != nil {
		t.Fatal(err)
	}
	return o.tracer.Start(baggage.ContextWithBaggage(context.Background(), bag), "POST /invocations")
}

// taskSpans are the ended spans named "task "+name, in the order they ended.
func (o *observed) taskSpans(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range o.spans.Ended() {
		if s.Name() == "task "+name {
			out = append(out, s)
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestTaskSpanLinksToTheRequest(t *testing.T) {
	o := newObserved(t)
	ctx, req := o.request(t, "sess-1")
	inside := make(chan context.Context, 1)
	id, err := o.sup.Go("report", nil, func(ctx context.Context) error {
		inside <- ctx
		return nil
	}, supervisor.StartedBy(ctx))
	if err != nil {
		t.Fatal(err)
	}
	req.End() // the request ends first: the task outlives it
	taskCtx := <-inside
	waitIdle(t, o.sup)

	spans := o.taskSpans("report")
	if len(spans) != 1 {
		t.Fatalf("%d task spans, want 1", len(spans))
	}
	span := spans[0]
	if span.Parent().IsValid() {
		t.Errorf("task span has parent %v: want a root span linked to the request", span.Parent())
	}
	if links := span.Links(); len(links) != 1 || !links[0].SpanContext.Equal(req.SpanContext()) {
		t.Errorf("links %+v, want one to the request span %v", links, req.SpanContext())
	}
	want := map[attribute.Key]attribute.Value{
		"task.id": attribute.Int64Value(int64(id)), "task.name": attribute.StringValue("report"),
		"task.attempt": attribute.IntValue(1), "task.outcome": attribute.StringValue("succeeded"),
		"session.id": attribute.StringValue("sess-1"),
	}
	if got := attrs(span); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
	if span.Status().Code != codes.Unset {
		t.Errorf("status %v, want unset for a success", span.Status())
	}
	if got := trace.SpanContextFromContext(taskCtx); !got.Equal(span.SpanContext()) {
		t.Errorf("the function's context has span %v, want its attempt's %v", got, span.SpanContext())
	}
	if got := baggage.FromContext(taskCtx).Member("session.id").Value(); got != "sess-1" {
		t.Errorf("the function's baggage has session.id %q, want sess-1", got)
	}
}

func TestRestartedTaskHasASpanPerAttempt(t *testing.T) {
	o := newObserved(t)
	ctx, req := o.request(t, "sess-2")
	defer req.End()
	var runs atomic.Int32
	_, err := o.sup.Go("flaky", nil, func(context.Context) error {
		n := runs.Add(1)
		if n == 2 {
			panic("boom")
		}
		if n < 3 {
			return errors.New("not yet")
		}
		return nil
	}, supervisor.StartedBy(ctx), supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 5, InitialBackoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, o.sup)

	spans := o.taskSpans("flaky")
	if len(spans) != 3 {
		t.Fatalf("%d spans, want one per attempt: 3", len(spans))
	}
	for i, span := range spans {
		a := attrs(span)
		if got := a["task.attempt"].AsInt64(); got != int64(i+1) {
			t.Errorf("span %d: task.attempt %d", i, got)
		}
		if links := span.Links(); len(links) != 1 || !links[0].SpanContext.Equal(req.SpanContext()) {
			t.Errorf("span %d: links %+v, want the request's", i, links)
		}
		last := i == len(spans)-1
		if _, ok := a["task.outcome"]; ok != last {
			t.Errorf("span %d: task.outcome %v, want it on the last attempt only", i, a["task.outcome"])
		}
		if last {
			if span.Status().Code != codes.Unset || a["task.outcome"].AsString() != "succeeded" {
				t.Errorf("last span: status %v, outcome %v", span.Status(), a["task.outcome"])
			}
			continue
		}
		if span.Status().Code != codes.Error {
			t.Errorf("span %d: status %v, want an error", i, span.Status())
		}
		events := map[string]bool{}
		for _, ev := range span.Events() {
			events[ev.Name] = true
			if ev.Name == "exception" && i == 1 && !hasAttr(ev.Attributes, "exception.stacktrace") {
				t.Errorf("span %d: the panic's exception event has no stack", i)
			}
		}
		if !events["exception"] {
			t.Errorf("span %d: no exception event: %v", i, span.Events())
		}
		if !events["task.restart"] {
			t.Errorf("span %d: no task.restart event: %v", i, span.Events())
		}
	}

	m := o.metrics(t)
	name := attribute.String("task.name", "flaky")
	for _, c := range []struct {
		metric string
		attrs  []attribute.KeyValue
		want   int64
	}{
		{"agentvisor.task.started", []attribute.KeyValue{name}, 1},
		{"agentvisor.task.restarts", []attribute.KeyValue{name}, 2},
		{"agentvisor.task.ended", []attribute.KeyValue{name, attribute.String("task.outcome", "succeeded")}, 1},
		{"agentvisor.task.active", nil, 0},
		{"agentvisor.panics", []attribute.KeyValue{attribute.String("agentvisor.panic.origin", "task")}, 1},
		{"agentvisor.ping.status", []attribute.KeyValue{attribute.String("agentvisor.ping.status", "Healthy")}, 1},
		{"agentvisor.ping.status", []attribute.KeyValue{attribute.String("agentvisor.ping.status", "HealthyBusy")}, 0},
	} {
		if got, ok := m.value(c.metric, c.attrs...); !ok || got != c.want {
			t.Errorf("%s%v = %d (found %v), want %d", c.metric, c.attrs, got, ok, c.want)
		}
	}
}

func TestTaskEndsInSpansAndMetrics(t *testing.T) {
	o := newObserved(t)
	manual := o.sup.AddAsyncTask("upload", nil)
	cancelled, err := o.sup.Go("wait", nil, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.sup.Go("broken", nil, func(context.Context) error { return errors.New("no disk") }); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the ping status gauge to say busy", func() bool {
		v, _ := o.metrics(t).value("agentvisor.ping.status", attribute.String("agentvisor.ping.status", "HealthyBusy"))
		return v == 1
	})
	o.sup.CompleteAsyncTask(manual)
	o.sup.Cancel(cancelled)
	waitIdle(t, o.sup)

	for name, want := range map[string]struct {
		outcome string
		code    codes.Code
	}{"upload": {"completed", codes.Unset}, "wait": {"cancelled", codes.Unset}, "broken": {"failed", codes.Error}} {
		spans := o.taskSpans(name)
		if len(spans) != 1 {
			t.Errorf("%s: %d spans, want 1", name, len(spans))
			continue
		}
		if got := attrs(spans[0])["task.outcome"].AsString(); got != want.outcome || spans[0].Status().Code != want.code {
			t.Errorf("%s: outcome %q, status %v; want %q, %v", name, got, spans[0].Status(), want.outcome, want.code)
		}
		if len(spans[0].Links()) != 0 {
			t.Errorf("%s: links %v without StartedBy", name, spans[0].Links())
		}
		if got, _ := o.metrics(t).value("agentvisor.task.ended", attribute.String("task.name", name), attribute.String("task.outcome", want.outcome)); got != 1 {
			t.Errorf("%s: agentvisor.task.ended %d, want 1", name, got)
		}
	}
}

func TestStartedByNilContext(t *testing.T) {
	sup, _ := mustNew(t, supervisor.Config{})
	//lint:ignore SA1012 the nil context is the bad input under test
	_, err := sup.Go("x", nil, func(context.Context) error { return nil }, supervisor.StartedBy(nil)) //nolint:staticcheck
	if !errors.Is(err, supervisor.ErrInvalidOption) {
		t.Fatalf("err %v, want ErrInvalidOption", err)
	}
}

func hasAttr(kvs []attribute.KeyValue, key attribute.Key) bool {
	for _, kv := range kvs {
		if kv.Key == key {
			return true
		}
	}
	return false
}

// collected is one collection of the supervisor's metrics.
type collected struct{ rm metricdata.ResourceMetrics }

func (o *observed) metrics(t *testing.T) collected {
	t.Helper()
	var c collected
	if err := o.reader.Collect(context.Background(), &c.rm); err != nil {
		t.Fatal(err)
	}
	return c
}

// value is the int64 point of metric name with exactly attrs.
func (c collected) value(name string, kvs ...attribute.KeyValue) (int64, bool) {
	want := attribute.NewSet(kvs...)
	for _, sm := range c.rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var points []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				points = d.DataPoints
			case metricdata.Gauge[int64]:
				points = d.DataPoints
			}
			for _, p := range points {
				if p.Attributes.Equals(&want) {
					return p.Value, true
				}
			}
		}
	}
	return 0, false
}

// A provider that panics (here a span processor) is logged and ignored: the
// task runs and ends, and /ping does not stay busy.
func TestPanickingProviderLeavesTasksAlone(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(panicking{}))
	sup, logs := mustNew(t, supervisor.Config{TracerProvider: tp})
	id, err := sup.Go("work", nil, func(context.Context) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sup)
	if task, ok := sup.Task(id); !ok || task.Outcome != supervisor.OutcomeSucceeded {
		t.Fatalf("task %+v (found %v), want succeeded", task, ok)
	}
	if s := sup.PingStatus().Status; s != supervisor.Healthy {
		t.Fatalf("status %s, want Healthy", s)
	}
	if got := logs.find(t, "telemetry panicked; the task goes on", id); len(got) == 0 {
		t.Fatal("no log of the provider's panic")
	}
}

// panicking is a span processor that panics at every span's end.
type panicking struct{ sdktrace.SpanProcessor }

func (panicking) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (panicking) OnEnd(sdktrace.ReadOnlySpan)                     { panic("processor bug") }
func (panicking) Shutdown(context.Context) error                  { return nil }
func (panicking) ForceFlush(context.Context) error                { return nil }

// Text that is not UTF-8 (a task name, a task's error) reaches the spans
// and metrics as UTF-8: OTLP's protobuf encoding would refuse the whole
// batch it is in.
func TestNonUTF8TaskTextIsMadeValid(t *testing.T) {
	o := newObserved(t)
	if _, err := o.sup.Go("bad\xffname", nil, func(context.Context) error { return errors.New("bad\xfeerror") }); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, o.sup)
	spans := o.taskSpans("bad\uFFFDname")
	if len(spans) != 1 {
		t.Fatalf("%d spans named %q: %v", len(spans), "task bad\uFFFDname", o.spans.Ended())
	}
	span := spans[0]
	if got := attrs(span)["task.name"].AsString(); got != "bad\uFFFDname" {
		t.Errorf("task.name %q", got)
	}
	if span.Status().Description != "bad\uFFFDerror" {
		t.Errorf("status %q", span.Status().Description)
	}
	for _, ev := range span.Events() {
		for _, kv := range ev.Attributes {
			if !utf8.ValidString(kv.Value.Emit()) {
				t.Errorf("event %s: %s = %q is not UTF-8", ev.Name, kv.Key, kv.Value.Emit())
			}
		}
	}
	if got, ok := o.metrics(t).value("agentvisor.task.started", attribute.String("task.name", "bad\uFFFDname")); !ok || got != 1 {
		t.Errorf("agentvisor.task.started for the name made valid: %d (found %v)", got, ok)
	}
}
