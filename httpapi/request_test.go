package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentvisor/agentvisor/httpapi"
)

// restrictedByReference is the reference SDK's RESTRICTED_HEADERS
// (aws/bedrock-agentcore-sdk-python, src/bedrock_agentcore/runtime/models.py
// at ddfab7619277130442aa091c2be09e818272d796), less the HTTP/2 pseudo
// headers (":method", ...), which net/http never shows as headers.
var restrictedByReference = []string{
	"Proxy-Authorization", "WWW-Authenticate",
	"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Content-Type", "Content-Length",
	"Content-Encoding", "Content-Language", "Content-Location", "Content-Range",
	"Cache-Control", "ETag", "Expires", "If-Match", "If-Modified-Since", "If-None-Match", "If-Range",
	"If-Unmodified-Since", "Last-Modified", "Pragma", "Vary",
	"Connection", "Keep-Alive", "Proxy-Connection", "Upgrade",
	"Host", "User-Agent", "Referer", "From",
	"Range", "Accept-Ranges", "Transfer-Encoding", "TE", "Trailer",
	"Server", "Date", "Location", "Retry-After",
	"Set-Cookie", "Cookie",
	"Content-Security-Policy", "Content-Security-Policy-Report-Only", "Strict-Transport-Security",
	"X-Content-Type-Options", "X-Frame-Options", "X-XSS-Protection", "Referrer-Policy", "Permissions-Policy",
	"Cross-Origin-Embedder-Policy", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy",
	"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Allow-Credentials", "Access-Control-Expose-Headers", "Access-Control-Max-Age",
	"Access-Control-Request-Method", "Access-Control-Request-Headers", "Origin",
	"Accept-CH", "Accept-CH-Lifetime", "DPR", "Width", "Viewport-Width", "Downlink", "ECT", "RTT", "Save-Data",
	"Clear-Site-Data", "Feature-Policy", "Expect-CT", "Public-Key-Pins", "Public-Key-Pins-Report-Only",
	"Via", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-IP",
	"X-Requested-With", "X-CSRF-Token",
	"True-Client-IP", "X-Client-IP", "X-Cluster-Client-IP", "X-Originating-IP", "X-Source-IP",
	"X-Original-URL", "X-Original-Host", "X-Rewrite-URL",
	"CF-Ray", "CF-Connecting-IP", "X-Amz-Cf-Id", "X-Cache", "X-Served-By",
	"Link",
	"Sec-WebSocket-Key", "Sec-WebSocket-Accept", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
	"Sec-WebSocket-Extensions",
}

// headersFor serves one invocation with a single header name: value and
// returns the Request's Headers.
func headersFor(t *testing.T, srv *httpapi.Server, got chan *httpapi.Request, name, value string) map[string]string {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/invocations", strings.NewReader(`{}`))
	r.Header = http.Header{http.CanonicalHeaderKey(name): {value}} // as net/http's server keys it
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("%s: answered %d %s", name, w.Code, w.Body)
	}
	return (<-got).Headers
}

// Headers are forwarded to the entrypoint as the reference forwards them:
// none of its restricted names, no x-amz- header but the workload access
// token's, no x-amzn- header but the custom ones.
func TestForwardedHeaders(t *testing.T) {
	got := make(chan *httpapi.Request, 1)
	srv, err := httpapi.New(httpapi.Config{
		Supervisor: mustSupervisor(t),
		Entrypoint: func(_ context.Context, req *httpapi.Request) (any, error) { got <- req; return nil, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range restrictedByReference {
		t.Run("restricted "+name, func(t *testing.T) {
			if h := headersFor(t, srv, got, name, "v"); h != nil {
				t.Fatalf("forwarded %v", h)
			}
		})
	}
	tests := []struct {
		name    string
		wantKey string // "" when the header is not forwarded
	}{
		{"Authorization", "Authorization"},
		{"X-Amz-Bedrock-AgentCore-Identity-WAT", "x-amz-bedrock-agentcore-identity-wat"},
		{"X-Amz-Date", ""},
		{"X-Amz-Security-Token", ""},
		{"X-Amzn-Trace-Id", ""},
		{"X-Amzn-Bedrock-AgentCore-Runtime-Custom-Tenant", "x-amzn-bedrock-agentcore-runtime-custom-tenant"},
		// Headers the Request also carries in fields of their own; the
		// reference forwards them too.
		{"WorkloadAccessToken", "workloadaccesstoken"},
		{"OAuth2CallbackUrl", "oauth2callbackurl"},
		// Not in the reference's list, whatever family they look part of.
		{"Expect", "expect"},
		{"Sec-Fetch-Mode", "sec-fetch-mode"},
		{"X-Forwarded-Port", "x-forwarded-port"},
		{"Proxy-Foo", "proxy-foo"},
		{"Access-Control-Request-Private-Network", "access-control-request-private-network"},
		{"X-Team", "x-team"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := headersFor(t, srv, got, tt.name, "v")
			switch {
			case tt.wantKey == "" && h != nil:
				t.Fatalf("forwarded %v", h)
			case tt.wantKey != "" && (len(h) != 1 || h[tt.wantKey] != "v"):
				t.Fatalf("headers %v, want %s: v", h, tt.wantKey)
			}
		})
	}
}
