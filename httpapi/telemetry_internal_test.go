package httpapi

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// The global providers record nothing until a program sets them (they
// forward from then on), the no-op ones never do, and any other may. No
// test of this binary sets the global providers.
func TestRecordsNothing(t *testing.T) {
	sdkTracers, sdkMeters := sdktrace.NewTracerProvider(), sdkmetric.NewMeterProvider()
	t.Cleanup(func() {
		_ = sdkTracers.Shutdown(context.Background())
		_ = sdkMeters.Shutdown(context.Background())
	})
	setTracers := func() trace.TracerProvider { return sdkTracers } // otel.GetTracerProvider once a program set it
	setMeters := func() metric.MeterProvider { return sdkMeters }
	tests := []struct {
		name string
		off  func() bool
		want bool
	}{
		{"global tracer provider", recordsNothing(otel.GetTracerProvider(), otel.GetTracerProvider), true},
		{"global tracer provider, once set", recordsNothing(otel.GetTracerProvider(), setTracers), false},
		{"no-op tracer provider", recordsNothing[trace.TracerProvider](tracenoop.NewTracerProvider(), setTracers), true},
		{"SDK tracer provider", recordsNothing[trace.TracerProvider](sdkTracers, otel.GetTracerProvider), false},
		{"global meter provider", recordsNothing(otel.GetMeterProvider(), otel.GetMeterProvider), true},
		{"global meter provider, once set", recordsNothing(otel.GetMeterProvider(), setMeters), false},
		{"no-op meter provider", recordsNothing[metric.MeterProvider](metricnoop.NewMeterProvider(), setMeters), true},
		{"SDK meter provider", recordsNothing[metric.MeterProvider](sdkMeters, otel.GetMeterProvider), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.off(); got != tt.want {
				t.Errorf("records nothing: %v, want %v", got, tt.want)
			}
		})
	}
}
