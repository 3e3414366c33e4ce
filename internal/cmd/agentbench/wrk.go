package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Errors of the load generator.
var (
	// ErrWrkOutput is wrk output the parser does not understand.
	ErrWrkOutput = errors.New("unexpected wrk output")
	// ErrWrkMissing is a wrk binary that cannot be found.
	ErrWrkMissing = errors.New("wrk not found (apt-get install -y wrk)")
	// ErrBadAnswers is a load run that saw socket errors or answers other
	// than 2xx/3xx: its figures would measure a failure, not the server.
	ErrBadAnswers = errors.New("load run saw errors")
)

// wrkResult is what one wrk run measured.
type wrkResult struct {
	Requests     int64         // completed requests
	Elapsed      time.Duration // wrk's own run time
	RPS          float64       // requests per second, as wrk computes it
	P50, P99     time.Duration // latency percentiles (--latency)
	Non2xx       int64         // answers that were neither 2xx nor 3xx
	SocketErrors int64         // connect, read, write and timeout errors, summed
}

var (
	// "     50%  637.00us" under "Latency Distribution".
	percentileLine = regexp.MustCompile(`^\s*(50|99)%\s+(\S+)\s*$`)
	// "  151954 requests in 2.01s, 23.33MB read"
	requestsLine = regexp.MustCompile(`^\s*(\d+) requests in (\S+), `)
	// "Requests/sec:  75720.46"
	rpsLine = regexp.MustCompile(`^Requests/sec:\s+([0-9.]+)\s*$`)
	// "  Non-2xx or 3xx responses: 12"
	non2xxLine = regexp.MustCompile(`^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$`)
	// "  Socket errors: connect 0, read 3, write 0, timeout 0"
	socketLine = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$`)
)

// parseWrk reads the output of `wrk --latency`. wrk prints durations with
// the units us, ms, s, m and h, which time.ParseDuration reads as they are.
func parseWrk(r io.Reader) (wrkResult, error) {
	var res wrkResult
	var seen struct{ p50, p99, requests, rps bool }
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		var err error
		switch {
		case percentileLine.MatchString(line):
			m := percentileLine.FindStringSubmatch(line)
			if m[1] == "50" {
				res.P50, err = parseWrkDuration(m[2])
				seen.p50 = true
			} else {
				res.P99, err = parseWrkDuration(m[2])
				seen.p99 = true
			}
		case requestsLine.MatchString(line):
			m := requestsLine.FindStringSubmatch(line)
			res.Requests, err = strconv.ParseInt(m[1], 10, 64)
			if err == nil {
				res.Elapsed, err = parseWrkDuration(m[2])
			}
			seen.requests = true
		case rpsLine.MatchString(line):
			res.RPS, err = strconv.ParseFloat(rpsLine.FindStringSubmatch(line)[1], 64)
			seen.rps = true
		case non2xxLine.MatchString(line):
			res.Non2xx, err = strconv.ParseInt(non2xxLine.FindStringSubmatch(line)[1], 10, 64)
		case socketLine.MatchString(line):
			res.SocketErrors, err = sumInts(socketLine.FindStringSubmatch(line)[1:])
		}
		if err != nil {
			return res, fmt.Errorf("%w: line %q: %w", ErrWrkOutput, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read wrk output: %w", err)
	}
	if !seen.p50 || !seen.p99 || !seen.requests || !seen.rps {
		return res, fmt.Errorf("%w: no requests, requests/sec, 50%% and 99%% lines (was --latency given?)", ErrWrkOutput)
	}
	return res, nil
}

func parseWrkDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %s", s)
	}
	return d, nil
}

func sumInts(fields []string) (int64, error) {
	var sum int64
	for _, f := range fields {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// postBody is the payload of every POST, in the reference's JSON encoding
// (a space after ':' and ','), so that the agent's echo of it is the same
// bytes as the bare handler's.
const postBody = `{"prompt": "hello", "session": 1}`

// postScript makes wrk send every request as a POST of postBody, as the
// platform does with /invocations.
const postScript = `wrk.method = "POST"
wrk.body = '` + postBody + `'
wrk.headers["Content-Type"] = "application/json"
`

// loadGen runs wrk with the same load for every scenario.
type loadGen struct {
	wrk         string        // path of the wrk binary
	duration    time.Duration // per run; wrk takes whole seconds
	connections int
	threads     int
	postScript  string // path of the Lua script for POST runs
}

// newLoadGen finds wrk and writes its POST script into dir.
func newLoadGen(cfg config, dir string) (*loadGen, error) {
	path, err := exec.LookPath(cfg.wrk)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrkMissing, err)
	}
	script := filepath.Join(dir, "post.lua")
	if err := os.WriteFile(script, []byte(postScript), 0o600); err != nil {
		return nil, fmt.Errorf("write wrk script: %w", err)
	}
	return &loadGen{wrk: path, duration: cfg.duration, connections: cfg.connections,
		threads: cfg.threads, postScript: script}, nil
}

// run drives url for the load generator's duration; post sends the POST
// script's request instead of a GET. wrk stops by itself; ctx kills it early.
func (g *loadGen) run(ctx context.Context, url string, post bool) (wrkResult, error) {
	args := []string{
		"--threads", strconv.Itoa(g.threads),
		"--connections", strconv.Itoa(g.connections),
		"--duration", strconv.Itoa(int(g.duration/time.Second)) + "s",
		"--latency",
	}
	if post {
		args = append(args, "--script", g.postScript)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, g.wrk, append(args, url)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w: %s", url, err, strings.TrimSpace(stderr.String()))
	}
	res, err := parseWrk(&stdout)
	if err != nil {
		return res, fmt.Errorf("wrk %s: %w\n%s", url, err, stdout.String())
	}
	if res.Non2xx > 0 || res.SocketErrors > 0 {
		return res, fmt.Errorf("wrk %s: %w: %d non-2xx answers, %d socket errors", url, ErrBadAnswers, res.Non2xx, res.SocketErrors)
	}
	return res, nil
}
