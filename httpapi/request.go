package httpapi

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// The request headers the platform sets and the server reads.
const (
	// HeaderSessionID carries the runtime session id.
	HeaderSessionID = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
	// HeaderRequestID carries the platform's request id; without it the
	// server makes a UUID.
	HeaderRequestID = "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id"
	// HeaderWorkloadAccessToken carries the workload access token.
	HeaderWorkloadAccessToken = "X-Amz-Bedrock-AgentCore-Identity-WAT"
	// HeaderWorkloadAccessTokenLegacy is the older name of the workload
	// access token header, read when HeaderWorkloadAccessToken is absent.
	HeaderWorkloadAccessTokenLegacy = "WorkloadAccessToken"
	// HeaderOAuth2CallbackURL carries the OAuth2 callback URL.
	HeaderOAuth2CallbackURL = "OAuth2CallbackUrl"
	// CustomHeaderPrefix starts the only x-amzn- headers forwarded to the
	// entrypoint.
	CustomHeaderPrefix = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-"
)

// The platform's header names are not in Go's canonical form (AgentCore,
// not Agentcore), so http.Header.Get would canonicalize them, allocating, on
// every call: the server looks them up by their canonical form instead.
var (
	sessionIDKey      = http.CanonicalHeaderKey(HeaderSessionID)
	requestIDKey      = http.CanonicalHeaderKey(HeaderRequestID)
	watKey            = http.CanonicalHeaderKey(HeaderWorkloadAccessToken)
	watLegacyKey      = http.CanonicalHeaderKey(HeaderWorkloadAccessTokenLegacy)
	oauth2CallbackKey = http.CanonicalHeaderKey(HeaderOAuth2CallbackURL)
	lowerCustomPrefix = strings.ToLower(CustomHeaderPrefix)
)

// header is h.Get(key) for a key already in canonical form.
func header(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Entrypoint handles one invocation. ctx is cancelled when the client goes
// away; zerolog.Ctx(ctx) is the request's logger, carrying request_id and
// session_id. It returns any value encoding/json can encode (nil answers
// null), a Stream to answer with Server-Sent Events, or an error: an
// *HTTPError (see Error) chooses the status, any other error is a 500 with
// its text. A panic is a 500 too; the process lives on.
type Entrypoint func(ctx context.Context, req *Request) (any, error)

// Request is what an entrypoint or WebSocket handler knows of its request.
type Request struct {
	// Payload is the invocation body, one valid UTF-8 JSON value exactly as
	// the client sent it (key order kept); nil for a WebSocket session.
	Payload json.RawMessage
	// SessionID is the runtime session id, "" when the client sent none.
	SessionID string
	// RequestID is the platform's request id, or a UUID made for this request.
	RequestID string
	// Headers are the forwardable request headers, as the reference
	// forwards them: Authorization under that key, and under their
	// lowercase names (as the reference's Starlette sees them) the headers
	// that are not in the reference's restricted list (standard, caching,
	// security, proxy and CDN headers), not x-amz- ones but
	// X-Amz-Bedrock-AgentCore-Identity-WAT, and not x-amzn- ones but the
	// X-Amzn-Bedrock-AgentCore-Runtime-Custom- headers. Repeated headers are
	// joined with ", ". Nil when there are none.
	Headers map[string]string
	// WorkloadAccessToken is the workload identity token, "" if none.
	WorkloadAccessToken string
	// OAuth2CallbackURL is the OAuth2 callback URL, "" if none.
	OAuth2CallbackURL string
}

// Decode unmarshals the payload into v. A payload that does not fit v is the
// client's mistake: the error is an *HTTPError with status 400, wrapping
// encoding/json's error.
func (r *Request) Decode(v any) error {
	if err := json.Unmarshal(r.Payload, v); err != nil {
		return Errorf(http.StatusBadRequest, "decode payload: %w", err)
	}
	return nil
}

// newRequest reads the request context from r's headers.
func newRequest(r *http.Request, payload json.RawMessage) *Request {
	ids := idsFrom(r.Context())
	wat := header(r.Header, watKey)
	if wat == "" {
		wat = header(r.Header, watLegacyKey)
	}
	return &Request{
		Payload:             payload,
		SessionID:           ids.session,
		RequestID:           ids.request,
		Headers:             forwardableHeaders(r.Header),
		WorkloadAccessToken: wat,
		OAuth2CallbackURL:   header(r.Header, oauth2CallbackKey),
	}
}

// restrictedHeaders are the names (lowercase) the reference never forwards:
// its RESTRICTED_HEADERS, in aws/bedrock-agentcore-sdk-python,
// src/bedrock_agentcore/runtime/models.py (read at commit ddfab76, 2026-08-20),
// which follows the platform's header allowlist rules. Its HTTP/2 pseudo
// headers (":method", ...) are left out: net/http never shows them as
// headers.
var restrictedHeaders = nameSet(strings.Fields(`
		proxy-authorization www-authenticate
		accept accept-charset accept-encoding accept-language content-type content-length
		content-encoding content-language content-location content-range
		cache-control etag expires if-match if-modified-since if-none-match if-range
		if-unmodified-since last-modified pragma vary
		connection keep-alive proxy-connection upgrade
		host user-agent referer from
		range accept-ranges transfer-encoding te trailer
		server date location retry-after
		set-cookie cookie
		content-security-policy content-security-policy-report-only strict-transport-security
		x-content-type-options x-frame-options x-xss-protection referrer-policy permissions-policy
		cross-origin-embedder-policy cross-origin-opener-policy cross-origin-resource-policy
		access-control-allow-origin access-control-allow-methods access-control-allow-headers
		access-control-allow-credentials access-control-expose-headers access-control-max-age
		access-control-request-method access-control-request-headers origin
		accept-ch accept-ch-lifetime dpr width viewport-width downlink ect rtt save-data
		clear-site-data feature-policy expect-ct public-key-pins public-key-pins-report-only
		via forwarded x-forwarded-for x-forwarded-host x-forwarded-proto x-real-ip
		x-requested-with x-csrf-token
		true-client-ip x-client-ip x-cluster-client-ip x-originating-ip x-source-ip
		x-original-url x-original-host x-rewrite-url
		cf-ray cf-connecting-ip x-amz-cf-id x-cache x-served-by
		link
		sec-websocket-key sec-websocket-accept sec-websocket-version sec-websocket-protocol
		sec-websocket-extensions`), strings.ToLower)

// restrictedCanonical is restrictedHeaders as the server keys a request's
// headers, in canonical form: most of a request's headers are skipped
// without lowering their names, which would allocate.
var restrictedCanonical = nameSet(slices.Collect(maps.Keys(restrictedHeaders)), http.CanonicalHeaderKey)

func nameSet(names []string, form func(string) string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, name := range names {
		set[form(name)] = true
	}
	return set
}

// lowerWATHeader is the one x-amz- header the reference forwards.
var lowerWATHeader = strings.ToLower(HeaderWorkloadAccessToken)

// forwardableHeaders applies the contract's forwarding rules.
func forwardableHeaders(h http.Header) map[string]string {
	var out map[string]string
	for name, values := range h {
		if restrictedCanonical[name] {
			continue
		}
		key, ok := forwardKey(strings.ToLower(name))
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]string)
		}
		out[key] = strings.Join(values, ", ")
	}
	return out
}

// forwardKey says whether the header named lower (lowercase) is forwarded,
// and under which key: the reference's is_forwardable_header, and
// Authorization under that exact key.
func forwardKey(lower string) (string, bool) {
	switch {
	case lower == "authorization":
		return "Authorization", true
	case restrictedHeaders[lower]:
		return "", false
	case strings.HasPrefix(lower, "x-amz-"):
		return lower, lower == lowerWATHeader
	case strings.HasPrefix(lower, "x-amzn-"):
		return lower, strings.HasPrefix(lower, lowerCustomPrefix)
	}
	return lower, true
}

// requestIDs are the ids the request-context middleware reads or makes.
type requestIDs struct {
	request string
	session string
}

type requestIDsKey struct{}

func idsFrom(ctx context.Context) requestIDs {
	ids, _ := ctx.Value(requestIDsKey{}).(requestIDs)
	return ids
}
