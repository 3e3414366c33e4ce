package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/agentvisor/agentvisor/internal/otlptest"
	"github.com/agentvisor/agentvisor/internal/proctest"
	"github.com/agentvisor/agentvisor/internal/testkit"
)

// The invocation of TestTelemetryEndToEnd: its trace, as a caller's
// traceparent gives it, and its session.
const (
	e2eTraceID  = "4bf92f3577b34da6a3ce929d0e0e4736"
	e2eParentID = "00f067aa0ba902b7"
	e2eSession  = "sess-e2e"
)

// The agent exports over OTLP/HTTP what the environment asks for, with its
// resource, keeps exporting while it runs, flushes at SIGTERM and exits 0.
// The spans and metrics themselves come from the instrumentation of
// httpapi, actors and supervisor: assertInstrumentation checks them apart.
func TestTelemetryEndToEnd(t *testing.T) {
	r := otlptest.Start(t)
	p := startBinaryEnv(t, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + r.URL, "OTEL_SERVICE_NAME=e2e-agent",
		"OTEL_BSP_SCHEDULE_DELAY=100", "OTEL_METRIC_EXPORT_INTERVAL=200"})
	// Within the 200 ms interval, long before the default minute: the SDK
	// reads OTEL_METRIC_EXPORT_INTERVAL.
	r.Wait(t, "a metrics export from e2e-agent while it runs", func(got otlptest.Received) bool {
		return slices.ContainsFunc(got.Requests, func(q otlptest.Request) bool {
			return q.Path == "/v1/metrics" && slices.ContainsFunc(q.Resources, isE2EAgent)
		})
	})
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	header.Set("traceparent", "00-"+e2eTraceID+"-"+e2eParentID+"-01")
	header.Set("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", e2eSession)
	if a := testkit.Do(t, http.MethodPost, p.Base+"/invocations", `{"action": "cleanup", "seconds": 0.2}`, header); a.Status != http.StatusOK {
		t.Fatalf("cleanup: %d %s", a.Status, a.Body)
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t); code != 0 {
		t.Fatalf("exit code %d, want 0; logs:\n%s", code, p.Logs.String())
	}
	lines := p.Lines("telemetry")
	if len(lines) != 1 || lines[0]["traces"] != "otlp http/protobuf "+r.URL+"/v1/traces" || lines[0]["metrics"] != "otlp http/protobuf "+r.URL+"/v1/metrics" {
		t.Fatalf("telemetry lines %v, want both signals to the receiver", lines)
	}
	// The agent has exited: what it flushed has been received.
	got := r.Received()
	for _, q := range got.Requests {
		if !slices.ContainsFunc(q.Resources, isE2EAgent) {
			t.Fatalf("a request without the resource service.name=e2e-agent, service.version=dev; received:\n%s", got)
		}
	}
	t.Run("instrumentation", func(t *testing.T) { assertInstrumentation(t, got) })
	t.Logf("received:\n%s", got) // what the README's "Observe" shows
}

func isE2EAgent(resource map[string]string) bool {
	return resource["service.name"] == "e2e-agent" && resource["service.version"] == "dev"
}

// assertInstrumentation checks what the instrumentation records: the
// invocation's server span in the caller's trace, the task's span linked to
// it, both with the session, and the task and HTTP metrics.
func assertInstrumentation(t *testing.T, got otlptest.Received) {
	i := slices.IndexFunc(got.Spans, func(s otlptest.Span) bool {
		return s.Name == "POST /invocations" && s.TraceID == e2eTraceID && s.Attributes["session.id"] == e2eSession
	})
	if i < 0 {
		t.Errorf("no span %q in trace %s with session.id=%s", "POST /invocations", e2eTraceID, e2eSession)
	} else if invocation := got.Spans[i]; !slices.ContainsFunc(got.Spans, func(s otlptest.Span) bool {
		return s.Name == "task cleanup" && s.Attributes["task.name"] == "cleanup" && s.Attributes["session.id"] == e2eSession &&
			slices.ContainsFunc(s.Links, func(l otlptest.Link) bool {
				return l.TraceID == invocation.TraceID && l.SpanID == invocation.SpanID
			})
	}) {
		t.Errorf("no span %q with task.name=cleanup and session.id=%s linked to the invocation's span %s", "task cleanup", e2eSession, invocation.SpanID)
	}
	for _, name := range []string{"agentvisor.task.started", "http.server.request.duration"} {
		if !slices.ContainsFunc(got.Metrics, func(m otlptest.Metric) bool { return m.Name == name }) {
			t.Errorf("no metric %s", name)
		}
	}
}

// With no OTEL_* variable and no -metrics-addr the agent says telemetry is
// off, and opens no metrics listener.
func TestTelemetryOffByDefault(t *testing.T) {
	p := mustRun(t)
	var telemetry, metrics []map[string]any
	for _, l := range p.logs.Lines(t) {
		switch l["message"] {
		case "telemetry":
			telemetry = append(telemetry, l)
		case "serving metrics":
			metrics = append(metrics, l)
		}
	}
	const off = "off (no OTLP endpoint set)"
	if len(telemetry) != 1 || telemetry[0]["level"] != "info" || telemetry[0]["traces"] != off || telemetry[0]["metrics"] != off {
		t.Fatalf("telemetry lines %v, want one at info saying both are %s", telemetry, off)
	}
	if len(metrics) != 0 {
		t.Fatalf("a metrics listener without -metrics-addr: %v", metrics)
	}
}

// -metrics-addr serves the Prometheus exposition on its own port, not on
// the agent's, with the resource as target_info and the agent's metrics.
func TestMetricsAddr(t *testing.T) {
	addr := proctest.FreeAddr(t)
	p := startBinary(t, "-metrics-addr", addr)
	families := scrape(t, "http://"+addr+"/metrics")
	if !hasLabels(families["target_info"], map[string]string{"service_name": "agentvisor-agent", "service_version": "dev"}) {
		t.Fatalf("target_info %v, want service_name agentvisor-agent and service_version dev", families["target_info"])
	}
	status := families["agentvisor_ping_status"]
	if status.GetType() != dto.MetricType_GAUGE || !hasLabels(status, map[string]string{"agentvisor_ping_status": "Healthy"}) {
		t.Fatalf("agentvisor_ping_status %v, want a gauge with a Healthy series", status)
	}
	for _, m := range status.GetMetric() {
		healthy := hasLabels(&dto.MetricFamily{Metric: []*dto.Metric{m}}, map[string]string{"agentvisor_ping_status": "Healthy"})
		if want := map[bool]float64{true: 1, false: 0}[healthy]; m.GetGauge().GetValue() != want {
			t.Errorf("agentvisor_ping_status %v = %v, want %v for an idle agent", m.GetLabel(), m.GetGauge().GetValue(), want)
		}
	}
	if status, _ := p.Get("/metrics"); status != http.StatusNotFound {
		t.Fatalf("/metrics on the agent's port: %d, want 404", status)
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t); code != 0 {
		t.Fatalf("exit code %d, want 0; logs:\n%s", code, p.Logs.String())
	}
}

// The metrics listener stops with the agent: its port closes, and its
// goroutines end (the leak check).
func TestMetricsListenerStopsWithTheAgent(t *testing.T) {
	addr := proctest.FreeAddr(t)
	p := mustRun(t, "-metrics-addr", addr)
	scrape(t, "http://"+addr+"/metrics")
	p.stop()
	if err := <-p.done; err != nil {
		t.Fatalf("run: %v", err)
	}
	p.done <- nil // for mustRun's cleanup
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Fatal("the metrics port still answers after the agent stopped")
	}
}

// A busy metrics address stops the start, as a busy -addr does.
func TestMetricsAddrBusy(t *testing.T) {
	addr := proctest.FreeAddr(t)
	mustRun(t, "-metrics-addr", addr)
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-metrics-addr", addr}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-metrics-addr") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("run on a busy metrics address: %v", err)
	}
	scrape(t, "http://"+addr+"/metrics") // the first agent's listener is untouched
}

// scrape gets url's exposition and parses it as Prometheus does.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	a := testkit.Do(t, http.MethodGet, url, "", nil)
	if a.Status != http.StatusOK || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET %s: %d %q\n%s", url, a.Status, a.Header.Get("Content-Type"), a.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(a.Body))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", url, err, a.Body)
	}
	return families
}

// hasLabels says whether one of f's metrics has all the labels want.
func hasLabels(f *dto.MetricFamily, want map[string]string) bool {
	return slices.ContainsFunc(f.GetMetric(), func(m *dto.Metric) bool {
		n := 0
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				n++
			}
		}
		return n == len(want)
	})
}

// OTEL_PROPAGATORS=none makes the agent ignore the caller's traceparent:
// the invocation's span starts a trace of its own.
func TestPropagatorsNone(t *testing.T) {
	r := otlptest.Start(t)
	p := startBinaryEnv(t, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + r.URL, "OTEL_PROPAGATORS=none", "OTEL_BSP_SCHEDULE_DELAY=100"})
	header := http.Header{}
	header.Set("traceparent", "00-"+e2eTraceID+"-"+e2eParentID+"-01")
	if a := testkit.Do(t, http.MethodPost, p.Base+"/invocations", `{"action": "status"}`, header); a.Status != http.StatusOK {
		t.Fatalf("status: %d %s", a.Status, a.Body)
	}
	got := r.Wait(t, "the invocation's span", func(got otlptest.Received) bool {
		return slices.ContainsFunc(got.Spans, func(s otlptest.Span) bool { return s.Name == "POST /invocations" })
	})
	for _, s := range got.Spans {
		if s.Name == "POST /invocations" && (s.TraceID == e2eTraceID || s.ParentSpanID != "") {
			t.Errorf("span in trace %s with parent %q: want a new root despite the traceparent", s.TraceID, s.ParentSpanID)
		}
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}
