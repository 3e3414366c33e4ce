package httpapi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// frameConn is a WebSocket session's hijacked connection as the library
// reads it. It follows the client's frames as their bytes arrive, to bound
// what the library cannot: it offers a message size limit, but closes with
// a reason that misstates it, and bounds reads only by the handler's
// context, which cannot tell a stalled message from an idle session. So
// frameConn refuses a message whose frame headers take it over the limit,
// and sets a read deadline from a message's first byte to its last, none
// between messages.
type frameConn struct {
	net.Conn
	pending  []byte // what net/http had read past the upgrade request, read first
	maxBytes int64
	timeout  time.Duration

	// Read's state, owned by the library's reader (one Read at a time).
	frames      frameScanner
	hasDeadline bool

	mu   sync.Mutex // guards fail, read by the session's goroutine once the handler returns
	fail *closeCause
}

// closeCause is why frameConn stopped reading: the session's close code and
// reason, and the error its reads return.
type closeCause struct {
	code   websocket.StatusCode
	reason string
	err    error
}

// Read reads the client's bytes, fails once a message is too large or late,
// and keeps the deadline of the message under way.
func (c *frameConn) Read(p []byte) (int, error) {
	if cause := c.failure(); cause != nil {
		return 0, cause.err
	}
	n, err := c.read(p)
	took, started, tooBig := c.frames.scan(p[:n], c.maxBytes)
	if tooBig {
		reason := fmt.Sprintf("message over the %d-byte limit", c.maxBytes)
		c.stop(websocket.StatusMessageTooBig, reason, fmt.Errorf("%w: %s", websocket.ErrMessageTooBig, reason))
		return took, nil // the header that went over; the next Read fails
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && c.hasDeadline {
		reason := fmt.Sprintf("message not received within %v", c.timeout)
		c.stop(websocket.StatusPolicyViolation, reason, fmt.Errorf("%s: %w", reason, err))
		return n, c.failure().err
	}
	c.keepDeadline(started)
	return n, err
}

func (c *frameConn) read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// keepDeadline gives a message that started in the last read its time, and
// lifts the deadline once no message is under way.
func (c *frameConn) keepDeadline(started bool) {
	busy := c.frames.busy()
	switch {
	case busy && started:
		c.hasDeadline = true
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	case !busy && c.hasDeadline:
		c.hasDeadline = false
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
}

func (c *frameConn) stop(code websocket.StatusCode, reason string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = &closeCause{code: code, reason: reason, err: err}
}

// failure is why reading stopped, nil while it goes on.
func (c *frameConn) failure() *closeCause {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fail
}

// frameScanner follows a client's frames (RFC 6455, section 5.2) through
// the bytes of the connection.
type frameScanner struct {
	head      [14]byte // the frame header being read: at most 14 bytes
	headLen   int
	remaining int64 // payload bytes of the current frame still to come
	fin, data bool  // the current frame's
	inMessage bool  // a data message has started and its final frame not ended
	size      int64 // the current data message's payload so far
}

// busy says whether a frame or a message is under way.
func (s *frameScanner) busy() bool { return s.headLen > 0 || s.remaining > 0 || s.inMessage }

// scan takes p's bytes. It reports whether a frame started while none was
// under way, and stops, tooBig, after the header of a frame that takes its
// message over maxBytes, having taken n bytes.
func (s *frameScanner) scan(p []byte, maxBytes int64) (n int, started, tooBig bool) {
	for n < len(p) {
		if s.remaining > 0 {
			k := int(min(int64(len(p)-n), s.remaining))
			n += k
			s.remaining -= int64(k)
			s.endFrameIfDone()
			continue
		}
		started = started || !s.busy()
		s.head[s.headLen] = p[n]
		s.headLen++
		n++
		if s.headLen < headerLen(s.head[:s.headLen]) {
			continue
		}
		if !s.startFrame(maxBytes) {
			return n, started, true
		}
	}
	return n, started, false
}

// headerLen is the length of the header that starts with h.
func headerLen(h []byte) int {
	if len(h) < 2 {
		return 2
	}
	n := 2
	switch h[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h[1]&0x80 != 0 { // masked, as every client frame must be
		n += 4
	}
	return n
}

// startFrame reads the complete header; false if the frame takes its
// message over maxBytes.
func (s *frameScanner) startFrame(maxBytes int64) bool {
	h := s.head[:s.headLen]
	s.headLen = 0
	length := uint64(h[1] & 0x7f)
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		length = binary.BigEndian.Uint64(h[2:10])
	}
	opcode := h[0] & 0x0f
	s.fin, s.data = h[0]&0x80 != 0, opcode < 0x8
	s.remaining = int64(min(length, math.MaxInt64))
	if s.data {
		if opcode != 0 { // not a continuation: a new message
			s.size = 0
		}
		s.inMessage = true
		if length > uint64(maxBytes-s.size) {
			return false
		}
		s.size += int64(length)
	}
	s.endFrameIfDone()
	return true
}

func (s *frameScanner) endFrameIfDone() {
	if s.remaining == 0 && s.data && s.fin {
		s.inMessage = false
	}
}

// frameHijacker hands the WebSocket library a frameConn when it hijacks the
// connection.
type frameHijacker struct {
	http.ResponseWriter
	maxBytes int64
	timeout  time.Duration
	conn     *frameConn // set by Hijack
}

func (h *frameHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	pending, _ := brw.Reader.Peek(brw.Reader.Buffered())
	h.conn = &frameConn{Conn: conn, pending: bytes.Clone(pending), maxBytes: h.maxBytes, timeout: h.timeout}
	brw.Reader.Reset(h.conn)
	return h.conn, brw, nil
}
