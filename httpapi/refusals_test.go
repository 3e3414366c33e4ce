package httpapi_test

import (
	"strings"
	"testing"

	"github.com/agentvisor/agentvisor/httpapi"
)

// What a client gets for requests the handler never sees. net/http refuses
// malformed requests in plain text before any handler runs (documented in
// docs/http-api.md, kept honest here); the rest are answered in JSON.
func TestRefusals(t *testing.T) {
	_, addr := mustListen(t, httpapi.Config{})
	tests := []struct {
		name    string
		request string
		// wantHead starts the answer: its status line and first header.
		wantHead string
		wantBody string // the end of the answer
	}{
		{
			"header too large",
			"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 1<<20+4096) + "\r\n\r\n",
			"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n",
			"\r\n\r\n431 Request Header Fields Too Large",
		},
		{
			"malformed header line",
			"GET /ping HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n",
			"\r\n\r\n400 Bad Request",
		},
		{
			"unsupported transfer encoding",
			"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
			"HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\n",
			"\r\n\r\nUnsupported transfer encoding",
		},
		{
			"no Host header",
			"GET /ping HTTP/1.1\r\n\r\n",
			"HTTP/1.1 400 Bad Request: missing required Host header\r\n",
			"\r\n\r\n400 Bad Request: missing required Host header",
		},
		{
			"unknown HTTP version",
			"GET /ping HTTP/9.9\r\nHost: x\r\n\r\n",
			"HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version\r\n",
			"\r\n\r\n505 HTTP Version Not Supported: unsupported protocol version",
		},
		{
			"unknown expectation",
			"POST /invocations HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 2\r\n\r\n{}",
			"HTTP/1.1 417 Expectation Failed\r\n",
			"Content-Length: 0\r\n\r\n",
		},
		{
			// net/http would answer OPTIONS * itself, 200 with no body.
			"OPTIONS *",
			"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 404 Not Found\r\n",
			"\r\n\r\n" + `{"error":"Not Found"}`,
		},
		{
			"malformed chunked body",
			"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
			"HTTP/1.1 400 Bad Request\r\n",
			"\r\n\r\n" + `{"error":"Could not read request body","details":"invalid byte in chunk length"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rawExchange(t, addr, tt.request)
			if !strings.HasPrefix(got, tt.wantHead) || !strings.HasSuffix(got, tt.wantBody) {
				t.Fatalf("got %q, want %q ... %q", got, tt.wantHead, tt.wantBody)
			}
		})
	}
}
