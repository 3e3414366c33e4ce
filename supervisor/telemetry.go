package supervisor

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentvisor/agentvisor/actors"
)

// The metrics a Supervisor reports, besides the task counters
// (agentvisor.task.started, .ended, .restarts and .active; see Config).
const (
	// MetricPingStatus is 1 for the status /ping reports and 0 for the
	// other, by the attribute of the same name (Healthy, HealthyBusy).
	MetricPingStatus = "agentvisor.ping.status"
	// MetricPanics counts the panics recovered, by agentvisor.panic.origin
	// (PanicTask, PanicHandler...: what Panics returns).
	MetricPanics = "agentvisor.panics"
	// MetricTasksActive is how many tasks count as busy.
	MetricTasksActive = "agentvisor.task.active"
)

// StartedBy says which request started the task, by its context (an
// httpapi handler's ctx): each attempt's span links to the request's span,
// carries its session.id, and the task function's context carries the
// request's baggage. It takes nothing else from ctx: the task does not end
// with the request.
func StartedBy(ctx context.Context) TaskOption {
	return TaskOption{func(start *actors.StartTask) error {
		if ctx == nil {
			return fmt.Errorf("started by a nil context: %w", ErrInvalidOption)
		}
		link, bag := trace.SpanContextFromContext(ctx), baggage.FromContext(ctx)
		if link.IsValid() || bag.Len() > 0 {
			start.Origin = &actors.Origin{Link: link, Baggage: bag}
		}
		return nil
	}}
}

// providers are the configured providers, or the global ones.
func (c Config) providers() (trace.TracerProvider, metric.MeterProvider) {
	tp, mp := c.TracerProvider, c.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return tp, mp
}

// observe registers the metrics observed from the running supervisor;
// unregister stops the observation.
func (s *Supervisor) observe(mp metric.MeterProvider) (unregister func() error, err error) {
	meter := mp.Meter(actors.InstrumentationName)
	status, err1 := meter.Int64ObservableGauge(MetricPingStatus, metric.WithUnit("{status}"),
		metric.WithDescription("1 for the status /ping reports (Healthy or HealthyBusy), 0 for the other."))
	panics, err2 := meter.Int64ObservableCounter(MetricPanics, metric.WithUnit("{panic}"),
		metric.WithDescription("Panics recovered, by agentvisor.panic.origin."))
	active, err3 := meter.Int64ObservableUpDownCounter(MetricTasksActive, metric.WithUnit("{task}"),
		metric.WithDescription("Tasks counted as busy."))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("supervisor instruments: %w", err)
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s.report(o, status, panics, active)
		return nil
	}, status, panics, active)
	if err != nil {
		return nil, fmt.Errorf("supervisor instruments: %w", err)
	}
	return reg.Unregister, nil
}

// report reports the status the status actor holds (the last one /ping
// reported: no custom ping function is called for a metric), the panics and
// the tasks counted as busy.
func (s *Supervisor) report(o metric.Observer, status metric.Int64ObservableGauge, panics metric.Int64ObservableCounter, active metric.Int64ObservableUpDownCounter) {
	o.ObserveInt64(active, s.cast.Counters.Active.Load())
	now := Status(s.cast.Status.Snapshot().Ping.Status)
	for _, st := range []Status{Healthy, HealthyBusy} {
		v := int64(0)
		if st == now {
			v = 1
		}
		o.ObserveInt64(status, v, metric.WithAttributes(attribute.String(MetricPingStatus, st.String())))
	}
	for origin, n := range s.Panics() {
		o.ObserveInt64(panics, int64(n), metric.WithAttributes(attribute.String("agentvisor.panic.origin", origin)))
	}
}
