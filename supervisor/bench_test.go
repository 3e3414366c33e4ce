package supervisor_test

import (
	"context"
	"testing"

	"github.com/rs/zerolog"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

func benchSupervisor(b *testing.B) *supervisor.Supervisor {
	b.Helper()
	return benchSupervisorWith(b, supervisor.Config{})
}

func benchSupervisorWith(b *testing.B, cfg supervisor.Config) *supervisor.Supervisor {
	b.Helper()
	cfg.Logger = zerolog.Nop()
	sup, err := supervisor.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { testkit.ShutdownNow(sup) })
	return sup
}

// callers is how many goroutines per core call the API at once in the
// parallel benchmarks: an agent's handlers call it concurrently, and each
// call waits for an actor round trip, so a handful of callers cannot keep
// two cores busy.
const callers = 32

// One AddAsyncTask+CompleteAsyncTask pair per op, from many goroutines.
func BenchmarkAddCompletePair(b *testing.B) {
	sup := benchSupervisor(b)
	b.ReportAllocs()
	b.SetParallelism(callers)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !sup.CompleteAsyncTask(sup.AddAsyncTask("bench", nil)) {
				b.Error("complete answered false")
				return
			}
		}
	})
	b.StopTimer()
	if s := sup.PingStatus().Status; s != supervisor.Healthy {
		b.Fatalf("status %s after the pairs, want Healthy", s)
	}
}

// One Go of an empty function per op, run to completion: the clock stops
// once every task has ended.
func BenchmarkGoEmptyToCompletion(b *testing.B) { benchGo(b, benchSupervisor(b)) }

// BenchmarkGoEmptyToCompletion with telemetry on: the SDK's providers,
// each span to a batcher that exports nowhere, the metrics to a reader
// nobody collects.
func BenchmarkGoEmptyToCompletionTraced(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	benchGo(b, benchSupervisorWith(b, supervisor.Config{TracerProvider: tp, MeterProvider: mp}))
}

func benchGo(b *testing.B, sup *supervisor.Supervisor) {
	empty := func(context.Context) error { return nil }
	b.ReportAllocs()
	b.SetParallelism(callers)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := sup.Go("bench", nil, empty); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := sup.WaitIdle(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if s := sup.PingStatus().Status; s != supervisor.Healthy {
		b.Fatalf("status %s after the tasks, want Healthy", s)
	}
}

// PingStatus from many goroutines while a task is tracked.
func BenchmarkPingStatusParallel(b *testing.B) {
	sup := benchSupervisor(b)
	sup.AddAsyncTask("busy", nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if sup.PingStatus().Status != supervisor.HealthyBusy {
				b.Error("not busy")
				return
			}
		}
	})
}
