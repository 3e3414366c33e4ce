package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// action is one kind of request the load sends, with the status it must get.
type action struct {
	name   string
	body   string // empty: GET /ping
	status int
}

// actions mixes polls with invocations that churn short tasks, some of which
// fail or panic, and handler errors and panics: every answer is expected.
var actions = []action{
	{name: "ping", status: http.StatusOK},
	{name: "ping", status: http.StatusOK},
	{name: "ping", status: http.StatusOK},
	{name: "echo", body: `{"action": "echo", "n": 1}`, status: http.StatusOK},
	{name: "process", body: `{"action": "process", "data_id": "soak", "seconds": 0.05}`, status: http.StatusOK},
	{name: "cleanup", body: `{"action": "cleanup", "seconds": 0.02}`, status: http.StatusOK},
	{name: "task_fail", body: `{"action": "task_fail", "seconds": 0.01}`, status: http.StatusOK},
	{name: "task_panic", body: `{"action": "task_panic", "seconds": 0.01}`, status: http.StatusOK},
	{name: "status", body: `{"action": "status"}`, status: http.StatusOK},
	{name: "stream", body: `{"action": "stream"}`, status: http.StatusOK},
	{name: "fail", body: `{"action": "fail"}`, status: http.StatusInternalServerError},
	{name: "http_error", body: `{"action": "http_error"}`, status: http.StatusUnprocessableEntity},
	{name: "panic", body: `{"action": "panic"}`, status: http.StatusInternalServerError},
	{name: "bad json", body: `{"action": `, status: http.StatusBadRequest},
}

// load runs workers that send random actions until its context ends.
type load struct {
	base    string
	workers int
	client  *http.Client

	mu       sync.Mutex // guards the fields below
	requests int
	errors   map[string]int // unexpected answers by action and cause
	pingLat  []time.Duration
}

func newLoad(base string, workers int) *load {
	return &load{
		base: base, workers: workers, errors: map[string]int{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second},
	}
}

func (l *load) run(ctx context.Context) {
	var wg sync.WaitGroup
	for w := range l.workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				l.send(actions[rng.IntN(len(actions))])
			}
		})
	}
	wg.Wait()
	l.client.CloseIdleConnections()
}

func (l *load) send(a action) {
	start := time.Now()
	var res *http.Response
	var err error
	if a.body == "" {
		res, err = l.client.Get(l.base + "/ping")
	} else {
		res, err = l.client.Post(l.base+"/invocations", "application/json", strings.NewReader(a.body))
	}
	cause := ""
	if err != nil {
		cause = err.Error()
	} else {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != a.status {
			cause = res.Status
		}
	}
	took := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	if cause != "" {
		l.errors[a.name+": "+cause]++
	}
	if a.body == "" && err == nil {
		l.pingLat = append(l.pingLat, took)
	}
}

// loadResults is what the load saw.
type loadResults struct {
	requests                  int
	errors                    map[string]int
	pings                     int
	pingP50, pingP99, pingMax time.Duration
}

func (l *load) results() loadResults {
	l.mu.Lock()
	defer l.mu.Unlock()
	lat := slices.Clone(l.pingLat)
	slices.Sort(lat)
	r := loadResults{requests: l.requests, errors: l.errors, pings: len(lat)}
	if len(lat) > 0 {
		r.pingP50, r.pingP99, r.pingMax = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return r
}
