// Package otlptest is an OTLP/HTTP collector for tests: it accepts what an
// exporter posts to /v1/traces and /v1/metrics (protobuf, gzipped or not),
// answers as a collector does, and keeps what it decoded for the test to
// read or to wait for.
//
//	r := otlptest.Start(t)
//	cmd.Env = append(cmd.Env, "OTEL_EXPORTER_OTLP_ENDPOINT="+r.URL)
//	got := r.Wait(t, "a span", func(got otlptest.Received) bool { return len(got.Spans) > 0 })
//
// A JSON request (http/json) is answered and listed in Requests, not
// decoded.
package otlptest

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/agentvisor/agentvisor/internal/testkit"
)

// Receiver is a running collector. Its handler goroutines, net/http's,
// record; the test reads.
type Receiver struct {
	// URL is the base URL, http://127.0.0.1:port: what
	// OTEL_EXPORTER_OTLP_ENDPOINT takes.
	URL string

	mu      sync.Mutex    // guards got and changed
	got     Received      // appended to, never changed in place
	changed chan struct{} // closed and replaced on each request: Wait's wake-up
}

// Received is what the receiver got, in arrival order.
type Received struct {
	Requests []Request
	Spans    []Span
	Metrics  []Metric
}

// Request is one export request.
type Request struct {
	Path        string // /v1/traces or /v1/metrics
	ContentType string
	// Resources are the request's resources' attributes (none for JSON).
	Resources []map[string]string
}

// Span is one span with its resource and scope. IDs are lowercase hex;
// attribute values are strings, as %v prints them (bytes in hex).
type Span struct {
	Resource     map[string]string
	Scope        string
	Name         string
	TraceID      string
	SpanID       string
	ParentSpanID string // "" for a root span
	Attributes   map[string]string
	Links        []Link
}

// Link is a span's link to another span's context.
type Link struct {
	TraceID, SpanID string
	Attributes      map[string]string
}

// Metric is one metric, by name, with its resource and scope.
type Metric struct {
	Resource map[string]string
	Scope    string
	Name     string
}

// Start serves a receiver on 127.0.0.1 until the test ends.
func Start(tb testing.TB) *Receiver {
	tb.Helper()
	r := &Receiver{changed: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(r.serveHTTP))
	tb.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Received returns what was received so far.
func (r *Receiver) Received() Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got.clone()
}

// Wait waits until cond holds of what was received, checking it on each
// request, and returns what was received then. After testkit.Timeout it
// fails the test with what was received.
func (r *Receiver) Wait(tb testing.TB, what string, cond func(Received) bool) Received {
	tb.Helper()
	deadline := time.NewTimer(testkit.Timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got, changed := r.got.clone(), r.changed
		r.mu.Unlock()
		if cond(got) {
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("timed out waiting for %s; received:\n%s", what, got)
		}
	}
}

func (g Received) clone() Received {
	return Received{Requests: slices.Clone(g.Requests), Spans: slices.Clone(g.Spans), Metrics: slices.Clone(g.Metrics)}
}

// String lists what was received, one line per request, span and metric,
// for a test's failure message.
func (g Received) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests, %d spans, %d metrics\n", len(g.Requests), len(g.Spans), len(g.Metrics))
	for _, q := range g.Requests {
		fmt.Fprintf(&b, "request %s %s resources %v\n", q.Path, q.ContentType, q.Resources)
	}
	for _, s := range g.Spans {
		fmt.Fprintf(&b, "span %q trace %s span %s parent %q scope %q attributes %v links %v resource %v\n",
			s.Name, s.TraceID, s.SpanID, s.ParentSpanID, s.Scope, s.Attributes, s.Links, s.Resource)
	}
	for _, m := range g.Metrics {
		fmt.Fprintf(&b, "metric %q scope %q resource %v\n", m.Name, m.Scope, m.Resource)
	}
	return b.String()
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := readBody(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := Request{Path: req.URL.Path, ContentType: req.Header.Get("Content-Type")}
	if q.ContentType == "application/json" {
		r.record(q, nil, nil)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
		return
	}
	var spans []Span
	var metrics []Metric
	var answer proto.Message
	switch q.Path {
	case "/v1/traces":
		q.Resources, spans, err = decodeTraces(body)
		answer = &coltracepb.ExportTraceServiceResponse{}
	case "/v1/metrics":
		q.Resources, metrics, err = decodeMetrics(body)
		answer = &colmetricpb.ExportMetricsServiceResponse{}
	default:
		http.NotFound(w, req)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.record(q, spans, metrics)
	out, _ := proto.Marshal(answer) // an empty message: nothing can fail
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *Receiver) record(q Request, spans []Span, metrics []Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got.Requests = append(r.got.Requests, q)
	r.got.Spans = append(r.got.Spans, spans...)
	r.got.Metrics = append(r.got.Metrics, metrics...)
	close(r.changed)
	r.changed = make(chan struct{})
}

// readBody reads the body, gunzipped when the exporter compressed it
// (OTEL_EXPORTER_OTLP_COMPRESSION=gzip).
func readBody(req *http.Request) ([]byte, error) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		body = gz
	}
	return io.ReadAll(body)
}

func decodeTraces(body []byte) ([]map[string]string, []Span, error) {
	var in coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &in); err != nil {
		return nil, nil, err
	}
	var resources []map[string]string
	var spans []Span
	for _, rs := range in.GetResourceSpans() {
		res := attributes(rs.GetResource().GetAttributes())
		resources = append(resources, res)
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				span := Span{Resource: res, Scope: ss.GetScope().GetName(), Name: s.GetName(),
					TraceID: hexID(s.GetTraceId()), SpanID: hexID(s.GetSpanId()), ParentSpanID: hexID(s.GetParentSpanId()),
					Attributes: attributes(s.GetAttributes())}
				for _, l := range s.GetLinks() {
					span.Links = append(span.Links, Link{TraceID: hexID(l.GetTraceId()), SpanID: hexID(l.GetSpanId()), Attributes: attributes(l.GetAttributes())})
				}
				spans = append(spans, span)
			}
		}
	}
	return resources, spans, nil
}

func decodeMetrics(body []byte) ([]map[string]string, []Metric, error) {
	var in colmetricpb.ExportMetricsServiceRequest
	if err := proto.Unmarshal(body, &in); err != nil {
		return nil, nil, err
	}
	var resources []map[string]string
	var metrics []Metric
	for _, rm := range in.GetResourceMetrics() {
		res := attributes(rm.GetResource().GetAttributes())
		resources = append(resources, res)
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				metrics = append(metrics, Metric{Resource: res, Scope: sm.GetScope().GetName(), Name: m.GetName()})
			}
		}
	}
	return resources, metrics, nil
}

func attributes(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = valueString(kv.GetValue())
	}
	return m
}

func valueString(a *commonpb.AnyValue) string {
	switch v := a.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return v.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(v.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(v.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(v.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_ArrayValue:
		var values []string
		for _, e := range v.ArrayValue.GetValues() {
			values = append(values, valueString(e))
		}
		return "[" + strings.Join(values, " ") + "]"
	case *commonpb.AnyValue_KvlistValue:
		return fmt.Sprint(attributes(v.KvlistValue.GetValues()))
	case *commonpb.AnyValue_BytesValue:
		return hex.EncodeToString(v.BytesValue)
	}
	return ""
}

func hexID(id []byte) string { return hex.EncodeToString(id) }
