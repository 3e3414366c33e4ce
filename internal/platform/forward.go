package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// forwarded reports whether a client's request header reaches the agent.
// The platform passes the payload's type, the tracing headers and the
// custom headers; the client's own (SigV4 Authorization, X-Amz-*, Host)
// stay at the platform.
func forwarded(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Content-Type", "Accept", "Traceparent", "Tracestate", "Baggage", "X-Amzn-Trace-Id":
		return true
	}
	return strings.HasPrefix(http.CanonicalHeaderKey(name), "X-Amzn-Bedrock-Agentcore-Runtime-Custom-")
}

// hopByHop are the headers of one connection, not of the answer.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// requestIDHeader is the header the agent reads its request id from.
const requestIDHeader = "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id"

// forwardResult is what a forward did, for the invocation's log line.
type forwardResult struct {
	status int   // the agent's status, 0 when it gave none
	bytes  int64 // body bytes passed to the client
	err    error // set when the agent could not be reached or the stream was cut
}

// forward sends the invocation to the agent's /invocations and passes the
// answer back as it comes: status and headers first, then each chunk
// flushed as soon as it is read, so a stream reaches the client event by
// event. The forward ends when the client goes away or the agent's process
// has exited.
func (s *session) forward(w http.ResponseWriter, r *http.Request, requestID string) forwardResult {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.gone, cancel)
	defer stop()
	res, err := s.send(ctx, r, requestID)
	if err != nil {
		return forwardResult{err: errorf(errForward, "session %s: agent did not answer /invocations: %v", s.id, err)}
	}
	defer res.Body.Close()
	for name, values := range res.Header {
		if !hopByHop[name] {
			w.Header()[name] = values
		}
	}
	w.Header().Set(sessionIDHeader, s.id)
	w.WriteHeader(res.StatusCode)
	n, err := copyFlushing(w, res.Body)
	if err != nil {
		err = fmt.Errorf("stream cut after %d bytes: %w", n, err)
	}
	return forwardResult{status: res.StatusCode, bytes: n, err: err}
}

// send posts the client's body to the agent with the headers it may see.
func (s *session) send(ctx context.Context, r *http.Request, requestID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.agent.Base()+"/invocations", r.Body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = r.ContentLength
	for name, values := range r.Header {
		if forwarded(name) {
			req.Header[name] = values
		}
	}
	req.Header.Set(sessionIDHeader, s.id)
	req.Header.Set(requestIDHeader, requestID)
	return s.e.client.Do(req)
}

// chunkBytes is the copy buffer: a read returns what the agent has
// written so far, up to this, and is flushed at once.
const chunkBytes = 32 << 10

// copyFlushing copies src to w, flushing after every read.
func copyFlushing(w http.ResponseWriter, src io.Reader) (int64, error) {
	rc := http.NewResponseController(w)
	buf := make([]byte, chunkBytes)
	var total int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
			if ferr := rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
				return total, ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
