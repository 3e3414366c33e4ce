package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
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
	// Headers are the forwardable request headers: Authorization under that
	// key, and under their lowercase names (as the reference's Starlette
	// sees them) the headers that are neither standard HTTP headers nor
	// x-amz-/x-amzn- ones, except the X-Amzn-Bedrock-AgentCore-Runtime-Custom-
	// headers. Repeated headers are joined with ", ". Nil when there are none.
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

// restrictedHeaders are standard HTTP headers (lowercase) that describe the
// connection or the client rather than the caller's intent, and headers the
// Request carries in their own fields; they are never forwarded.
var restrictedHeaders = map[string]bool{
	"accept": true, "accept-charset": true, "accept-encoding": true, "accept-language": true,
	"cache-control": true, "connection": true, "content-encoding": true, "content-length": true,
	"content-type": true, "cookie": true, "date": true, "expect": true, "forwarded": true,
	"host": true, "keep-alive": true, "origin": true, "pragma": true, "range": true,
	"referer": true, "te": true, "trailer": true, "transfer-encoding": true, "upgrade": true,
	"user-agent": true, "via": true, "x-real-ip": true,
	"workloadaccesstoken": true, "oauth2callbackurl": true,
}

// restrictedCanonical is restrictedHeaders as the server keys a request's
// headers, in canonical form: most of a request's headers are skipped
// without lowering their names, which would allocate.
var restrictedCanonical = func() map[string]bool {
	m := make(map[string]bool, len(restrictedHeaders))
	for name := range restrictedHeaders {
		m[http.CanonicalHeaderKey(name)] = true
	}
	return m
}()

// restrictedPrefixes start families of headers that are never forwarded.
var restrictedPrefixes = []string{"x-forwarded-", "proxy-", "sec-", "if-", "access-control-request-"}

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
// and under which key.
func forwardKey(lower string) (string, bool) {
	switch {
	case lower == "authorization":
		return "Authorization", true
	case strings.HasPrefix(lower, lowerCustomPrefix):
		return lower, true
	case strings.HasPrefix(lower, "x-amz-"), strings.HasPrefix(lower, "x-amzn-"), restrictedHeaders[lower]:
		return "", false
	}
	for _, prefix := range restrictedPrefixes {
		if strings.HasPrefix(lower, prefix) {
			return "", false
		}
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
