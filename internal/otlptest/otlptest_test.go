package otlptest_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/otlptest"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// What the SDK's exporter sends, gzipped, comes out as it went in: names,
// IDs, parents, attributes of every type, links, the resource; Wait
// returns once it holds.
func TestReceivesSpans(t *testing.T) {
	r := otlptest.Start(t)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(r.URL+"/v1/traces"),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "svc"))))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer func() { _ = tp.Shutdown(ctx) }()
	tracer := tp.Tracer("scope")
	parentCtx, parent := tracer.Start(context.Background(), "parent")
	_, child := tracer.Start(parentCtx, "child", trace.WithLinks(trace.Link{SpanContext: parent.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("why", "test")}}),
		trace.WithAttributes(attribute.String("s", "x"), attribute.Int("i", 7), attribute.Bool("b", true), attribute.Float64("f", 0.5), attribute.StringSlice("l", []string{"a"})))
	child.End()
	parent.End()
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}

	got := r.Wait(t, "two spans", func(got otlptest.Received) bool { return len(got.Spans) == 2 })
	c, p := got.Spans[0], got.Spans[1]
	pc := parent.SpanContext()
	if c.Name != "child" || p.Name != "parent" || c.Scope != "scope" || c.Resource["service.name"] != "svc" {
		t.Fatalf("names, scope or resource wrong:\n%s", got)
	}
	if p.TraceID != pc.TraceID().String() || p.SpanID != pc.SpanID().String() || p.ParentSpanID != "" ||
		c.TraceID != p.TraceID || c.ParentSpanID != p.SpanID {
		t.Fatalf("IDs wrong, parent %s/%s:\n%s", pc.TraceID(), pc.SpanID(), got)
	}
	want := map[string]string{"s": "x", "i": "7", "b": "true", "f": "0.5", "l": "[a]"}
	for k, v := range want {
		if c.Attributes[k] != v {
			t.Fatalf("attribute %s = %q, want %q:\n%s", k, c.Attributes[k], v, got)
		}
	}
	if len(c.Links) != 1 || c.Links[0].TraceID != p.TraceID || c.Links[0].SpanID != p.SpanID || c.Links[0].Attributes["why"] != "test" {
		t.Fatalf("links %v, want one to the parent with why=test", c.Links)
	}
	if len(got.Requests) != 1 || got.Requests[0].Path != "/v1/traces" || got.Requests[0].ContentType != "application/x-protobuf" {
		t.Fatalf("requests %v, want one protobuf post to /v1/traces", got.Requests)
	}
}
