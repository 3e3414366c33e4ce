package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/rs/zerolog"

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

// benchServe serves the same request b.N times in process, with the logger
// at info level as in production, and checks each status.
func benchServe(b *testing.B, method, path, body string) {
	log := zerolog.New(io.Discard).Level(zerolog.InfoLevel)
	srv, err := httpapi.New(httpapi.Config{Supervisor: mustSupervisor(b), Logger: log,
		Entrypoint: func(context.Context, *httpapi.Request) (any, error) { return map[string]bool{"ok": true}, nil }})
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

func BenchmarkServeInvocation(b *testing.B) {
	benchServe(b, http.MethodPost, "/invocations", `{"prompt": "hello", "session": 1}`)
}

func BenchmarkServePing(b *testing.B) { benchServe(b, http.MethodGet, "/ping", "") }
