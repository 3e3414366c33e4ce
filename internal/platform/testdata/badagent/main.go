// Command badagent is an agent for the emulator's tests: well behaved by
// default, or misbehaving as public implementations did (-mode).
//
//	-mode good         /ping as the contract says
//	-mode restamp      time_of_last_update is "now" on every ping
//	-mode omit         HealthyBusy with no time_of_last_update
//	-mode iso          HealthyBusy with an ISO string time
//	-mode noping       /ping answers 503, forever
//	-ignore-term       SIGTERM is ignored
//	-child             starts `sleep 600` beside itself, in its group
//
// Payloads (JSON object fields, any combination):
//
//	{"busy": s}        HealthyBusy for s seconds (good mode)
//	{"sleep": s}       answer after s seconds
//	{"stream": n, "every_ms": m}  n SSE events, m ms apart
//	{"break_ping": true}  /ping answers 500 from now on
//	{"exit": c}        exit with code c after answering
//
// Anything else is echoed back: {"echo": <payload>, "session": <id>}.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

type state struct {
	mode string

	mu         sync.Mutex // guards the fields below
	busyUntil  time.Time
	status     string
	changed    int64
	pingBroken bool
}

type payload struct {
	Busy      float64 `json:"busy"`
	Sleep     float64 `json:"sleep"`
	Stream    int     `json:"stream"`
	EveryMS   int     `json:"every_ms"`
	BreakPing bool    `json:"break_ping"`
	Exit      *int    `json:"exit"`
}

func main() {
	mode := flag.String("mode", "good", "good, restamp, omit, iso or noping")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM")
	child := flag.Bool("child", false, "start sleep 600 beside itself")
	flag.Parse()
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		go func() { <-sigs; fmt.Fprintln(os.Stderr, "badagent: SIGTERM, exiting 0"); os.Exit(0) }()
	}
	if *child {
		if err := exec.Command("sleep", "600").Start(); err != nil {
			fmt.Fprintln(os.Stderr, "badagent:", err)
			os.Exit(1)
		}
	}
	s := &state{mode: *mode, status: "Healthy", changed: time.Now().Unix()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", s.ping)
	mux.HandleFunc("POST /invocations", s.invoke)
	fmt.Fprintln(os.Stderr, http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux))
	os.Exit(1)
}

func (s *state) ping(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	broken := s.pingBroken
	if s.status == "HealthyBusy" && time.Now().After(s.busyUntil) {
		s.status, s.changed = "Healthy", time.Now().Unix()
	}
	status, changed := s.status, s.changed
	s.mu.Unlock()
	switch {
	case broken:
		w.WriteHeader(http.StatusInternalServerError)
	case s.mode == "noping":
		w.WriteHeader(http.StatusServiceUnavailable)
	case s.mode == "restamp":
		fmt.Fprintf(w, `{"status":%q,"time_of_last_update":%d}`, status, time.Now().Unix())
	case s.mode == "omit":
		fmt.Fprint(w, `{"status":"HealthyBusy"}`)
	case s.mode == "iso":
		fmt.Fprintf(w, `{"status":"HealthyBusy","time_of_last_update":%q}`, time.Now().UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(w, `{"status":%q,"time_of_last_update":%d}`, status, changed)
	}
}

func (s *state) invoke(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		http.Error(w, `{"error":"Invalid JSON"}`, http.StatusBadRequest)
		return
	}
	var p payload
	_ = json.Unmarshal(raw, &p) // a payload that is not an object is echoed
	s.mu.Lock()
	if p.Busy > 0 {
		s.busyUntil = time.Now().Add(seconds(p.Busy))
		if s.status != "HealthyBusy" {
			s.status, s.changed = "HealthyBusy", time.Now().Unix()
		}
	}
	s.pingBroken = s.pingBroken || p.BreakPing
	s.mu.Unlock()
	time.Sleep(seconds(p.Sleep)) // the slow turn under test
	if p.Stream > 0 {
		stream(w, p.Stream, time.Duration(p.EveryMS)*time.Millisecond)
	} else {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"echo": raw, "session": r.Header.Get("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"),
			"request": r.Header.Get("X-Amzn-Bedrock-AgentCore-Runtime-Request-Id"), "custom": r.Header.Get("X-Amzn-Bedrock-AgentCore-Runtime-Custom-Thing"),
			"authorization": r.Header.Get("Authorization")})
	}
	if p.Exit != nil {
		w.(http.Flusher).Flush()
		os.Exit(*p.Exit)
	}
}

func stream(w http.ResponseWriter, n int, every time.Duration) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	for i := range n {
		fmt.Fprintf(w, "data: {\"n\": %d, \"at\": %d}\n\n", i, time.Now().UnixMilli())
		w.(http.Flusher).Flush()
		time.Sleep(every)
	}
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
