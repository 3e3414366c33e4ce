// Package logbuf is a log sink for tests: zerolog writes JSON lines into a
// Buffer from any goroutine, and the test reads them back.
package logbuf

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
)

// Buffer is a goroutine-safe log sink. The zero value is ready to use.
type Buffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines returns every line written so far, decoded as JSON, in order; a line
// that is not JSON fails the test.
func (b *Buffer) Lines(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, raw := range bytes.Split(bytes.TrimSpace([]byte(b.String())), []byte("\n")) {
		if len(raw) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			tb.Fatalf("log line %q: %v", raw, err)
		}
		out = append(out, m)
	}
	return out
}
