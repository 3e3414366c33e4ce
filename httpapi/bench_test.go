package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/agentvisor/agentvisor/httpapi"
)

// discardWriter is a ResponseWriter that keeps only the status, so that a
// benchmark measures the server's own work and not a recorder's.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// benchServe serves the same request b.N times in process, with cfg, the
// logger at info level as in production, and checks each status.
func benchServe(b *testing.B, cfg httpapi.Config, method, path, body string) {
	cfg.Supervisor = mustSupervisor(b)
	cfg.Logger = zerolog.New(io.Discard).Level(zerolog.InfoLevel)
	cfg.Entrypoint = func(context.Context, *httpapi.Request) (any, error) { return map[string]bool{"ok": true}, nil }
	srv, err := httpapi.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	payload := bytes.NewReader([]byte(body))
	req, err := http.NewRequest(method, path, payload)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		payload.Seek(0, io.SeekStart)
		req.Body = io.NopCloser(payload)
		clear(w.header)
		srv.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

const benchPayload = `{"prompt": "hello", "session": 1}`

// BenchmarkServeInvocation serves an invocation with the global telemetry
// providers, which no benchmark sets: what an agent without telemetry pays.
func BenchmarkServeInvocation(b *testing.B) {
	benchServe(b, httpapi.Config{}, http.MethodPost, "/invocations", benchPayload)
}

// BenchmarkServeInvocationTelemetry serves an invocation with the SDK's
// providers: every span sampled, batched to an exporter that drops it, and
// the metrics aggregated for a reader.
func BenchmarkServeInvocationTelemetry(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	benchServe(b, httpapi.Config{TracerProvider: tp, MeterProvider: mp}, http.MethodPost, "/invocations", benchPayload)
}

func BenchmarkServePing(b *testing.B) { benchServe(b, httpapi.Config{}, http.MethodGet, "/ping", "") }
