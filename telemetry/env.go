package telemetry

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/propagation"
)

// defaultEndpoint is the specification's OTLP/HTTP endpoint. The Go
// exporters' own default is https, which a collector beside the agent does
// not serve.
const defaultEndpoint = "http://localhost:4318"

// signal is one of the two signals exported.
type signal struct {
	name string // "traces" or "metrics": the summary's word and the URL path's
	env  string // "TRACES" or "METRICS", as the variables spell it
	// protocols are the OTEL_EXPORTER_OTLP_*PROTOCOL values its exporter can
	// send: the metrics exporter has no JSON encoding.
	protocols []string
}

var (
	traces  = signal{name: "traces", env: "TRACES", protocols: []string{"http/protobuf", "http/json"}}
	metrics = signal{name: "metrics", env: "METRICS", protocols: []string{"http/protobuf"}}
)

// export is what the environment asks of one signal's OTLP export.
type export struct {
	url      string // where to post, the signal's path included; "" when not exported
	protocol string // one of the signal's protocols
	off      string // why not exported, for the summary
	warning  string // a setting not honoured, naming the variable and its value
}

func (e export) on() bool { return e.url != "" }

// planExport reads what the environment asks of s: OTLP when
// OTEL_<S>_EXPORTER says otlp, or, unset, when an endpoint is set; never
// for none.
func planExport(getenv func(string) string, s signal) export {
	otlp, off, warning := wantsOTLP(getenv, s)
	if !otlp {
		return export{off: off, warning: warning}
	}
	name, protocol := protocolOf(getenv, s)
	if !slices.Contains(s.protocols, protocol) {
		return export{off: fmt.Sprintf("%s=%s unsupported", name, protocol), warning: fmt.Sprintf("%s=%s: unsupported for %s (%s); %[3]s not exported",
			name, protocol, s.name, strings.Join(s.protocols, " or "))}
	}
	name, u, err := endpointOf(getenv, s)
	if err != nil {
		return export{off: name + " invalid", warning: fmt.Sprintf("%s=%s: %v; %s not exported", name, getenv(name), err, s.name)}
	}
	return export{url: u, protocol: protocol, warning: warning}
}

// wantsOTLP reads OTEL_<S>_EXPORTER, a comma-separated list: off says why
// OTLP is not wanted, warning names the values not understood.
func wantsOTLP(getenv func(string) string, s signal) (otlp bool, off, warning string) {
	name := "OTEL_" + s.env + "_EXPORTER"
	value := getenv(name)
	if value == "" {
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_"+s.env+"_ENDPOINT") == "" {
			return false, "no OTLP endpoint set", ""
		}
		return true, "", ""
	}
	var unknown []string
	for v := range strings.SplitSeq(value, ",") {
		switch v = strings.TrimSpace(v); v {
		case "otlp":
			otlp = true
		case "none":
		default:
			unknown = append(unknown, v)
		}
	}
	if len(unknown) > 0 {
		warning = fmt.Sprintf("%s=%s: %s unsupported (otlp or none)", name, value, strings.Join(unknown, ","))
	}
	if !otlp {
		off = name + "=" + value
	}
	return otlp, off, warning
}

// protocolOf is the protocol asked for s and the variable that asked:
// OTEL_EXPORTER_OTLP_<S>_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else
// http/protobuf.
func protocolOf(getenv func(string) string, s signal) (name, protocol string) {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_" + s.env + "_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return name, v
		}
	}
	return "", "http/protobuf"
}

// endpointOf is where s is posted and the variable that said so:
// OTEL_EXPORTER_OTLP_<S>_ENDPOINT as it is, else OTEL_EXPORTER_OTLP_ENDPOINT
// with v1/<s> appended, else the default with v1/<s>. The exporters would
// find the same; it is passed to them so that Config.Getenv decides it and
// the summary shows it.
func endpointOf(getenv func(string) string, s signal) (name, endpoint string, err error) {
	name = "OTEL_EXPORTER_OTLP_" + s.env + "_ENDPOINT"
	if v := getenv(name); v != "" {
		u, err := parseEndpoint(v)
		if err != nil {
			return name, "", err
		}
		return name, u.String(), nil
	}
	name, base := "OTEL_EXPORTER_OTLP_ENDPOINT", getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	if base == "" {
		base = defaultEndpoint
	}
	u, err := parseEndpoint(base)
	if err != nil {
		return name, "", err
	}
	return name, u.JoinPath("v1", s.name).String(), nil
}

var errNotHTTPURL = errors.New("want an http:// or https:// URL")

func parseEndpoint(v string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, errNotHTTPURL
	}
	return u, nil
}

// propagatorOf is OTEL_PROPAGATORS' tracecontext and baggage, both when it
// is unset, neither for none; warning names the values not supported.
func propagatorOf(getenv func(string) string) (p propagation.TextMapPropagator, warning string) {
	value := getenv("OTEL_PROPAGATORS")
	list := value
	if list == "" {
		list = "tracecontext,baggage"
	}
	var ps []propagation.TextMapPropagator
	var unknown []string
	for name := range strings.SplitSeq(list, ",") {
		switch name = strings.TrimSpace(name); name {
		case "tracecontext":
			ps = append(ps, propagation.TraceContext{})
		case "baggage":
			ps = append(ps, propagation.Baggage{})
		case "none":
		default:
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		warning = fmt.Sprintf("OTEL_PROPAGATORS=%s: %s unsupported (tracecontext, baggage or none); ignored", value, strings.Join(unknown, ","))
	}
	return propagation.NewCompositeTextMapPropagator(ps...), warning
}
