package httpapi_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentvisor/agentvisor/httpapi"
)

// echo sends every message back until the session ends.
func echo(ctx context.Context, conn *websocket.Conn, _ *httpapi.Request) error {
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		if err := conn.Write(ctx, typ, b); err != nil {
			return err
		}
	}
}

// Messages up to Config.WebSocketMaxMessageBytes are read; a larger one,
// whole or in fragments, closes the session with 1009 and a reason that
// names the limit.
func TestWebSocketMessageSize(t *testing.T) {
	tests := []struct {
		name    string
		limit   int64 // Config.WebSocketMaxMessageBytes
		frames  []int // the message's fragments, in bytes
		wantErr string
	}{
		{"the default is 16 MiB", 0, []int{16 << 20}, ""},
		{"at the limit", 1000, []int{1000}, ""},
		{"over the limit", 1000, []int{1001}, "message over the 1000-byte limit"},
		{"fragments over the limit", 1000, []int{600, 401}, "message over the 1000-byte limit"},
		{"far over the limit", 1000, []int{1 << 20}, "message over the 1000-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, base := mustServe(t, httpapi.Config{WebSocket: echo, WebSocketMaxMessageBytes: tt.limit})
			conn, ctx := mustDialWebSocket(t, base)
			conn.SetReadLimit(-1)
			w, err := conn.Writer(ctx, websocket.MessageBinary)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, n := range tt.frames {
				_, _ = w.Write(make([]byte, n)) // one frame per Write; fails once the server has closed
				total += n
			}
			_ = w.Close()
			_, b, err := conn.Read(ctx)
			if tt.wantErr == "" {
				if err != nil || len(b) != total {
					t.Fatalf("echo: %d bytes, %v; want %d bytes", len(b), err, total)
				}
				return
			}
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusMessageTooBig || ce.Reason != tt.wantErr {
				t.Fatalf("read: %v, want close 1009 %q", err, tt.wantErr)
			}
		})
	}
}

// A client that starts a message and stalls is cut after
// Config.WebSocketMessageTimeout with 1008; one that is idle between
// messages is not.
func TestWebSocketStalledMessage(t *testing.T) {
	const timeout = 100 * time.Millisecond
	_, addr := mustListen(t, httpapi.Config{WebSocket: echo, WebSocketMessageTimeout: timeout})
	tests := []struct {
		name string
		send []byte // sent at once after the handshake
	}{
		{"a frame header and no payload", maskedFrame(0x81, []byte("hello"))[:6]},
		{"half a frame header", maskedFrame(0x81, []byte("hello"))[:1]},
		{"half the payload", maskedFrame(0x81, []byte("hello"))[:8]},
		{"the first fragment of a message", maskedFrame(0x01, []byte("hel"))},
		{"a whole message, then a frame header", append(maskedFrame(0x81, []byte("a")), maskedFrame(0x81, []byte("b"))[:2]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, br := rawWebSocket(t, addr)
			if _, err := conn.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			code, reason := readClose(t, br)
			if code != 1008 || !strings.Contains(reason, "message not received within 100ms") {
				t.Fatalf("close %d %q, want 1008 naming the timeout", code, reason)
			}
		})
	}
	t.Run("idle between messages", func(t *testing.T) {
		conn, br := rawWebSocket(t, addr)
		for range 2 {
			// The absence of a cut shows only over time: the session stays
			// idle for three message timeouts before each message.
			<-time.After(3 * timeout)
			if _, err := conn.Write(maskedFrame(0x81, []byte("hi"))); err != nil {
				t.Fatal(err)
			}
			if head, _ := br.Peek(4); string(head) != "\x81\x02hi" {
				t.Fatalf("echo %q, want a text frame \"hi\"", head)
			}
			_, _ = br.Discard(4)
		}
	})
}

// rawWebSocket opens a WebSocket session on a bare TCP connection, so that
// the test can send partial frames; reads fail after 5 s.
func rawWebSocket(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn := mustDial(t, addr)
	_, err := io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	return conn, br
}

// maskedFrame is one client frame: first is its first byte (FIN and opcode).
func maskedFrame(first byte, payload []byte) []byte {
	f := []byte{first, 0x80 | byte(len(payload)), 1, 2, 3, 4} // payloads under 126 bytes
	for i, b := range payload {
		f = append(f, b^f[2+i%4])
	}
	return f
}

// readClose reads the server's frames until its close frame.
func readClose(t *testing.T, br *bufio.Reader) (code int, reason string) {
	t.Helper()
	for {
		var head [2]byte
		if _, err := io.ReadFull(br, head[:]); err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		payload := make([]byte, head[1]&0x7f) // the server's control frames are short
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		if head[0]&0x0f == 0x8 && len(payload) >= 2 {
			return int(binary.BigEndian.Uint16(payload)), string(payload[2:])
		}
	}
}
