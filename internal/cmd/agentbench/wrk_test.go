package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// wrkOK is real output of wrk 4.1.0 --latency on this machine.
const wrkOK = `Running 2s test @ http://127.0.0.1:18181/ping
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.29ms    1.70ms  16.02ms   87.21%
    Req/Sec    38.13k     6.26k   49.40k    60.00%
  Latency Distribution
     50%  637.00us
     75%    1.62ms
     90%    3.53ms
     99%    7.90ms
  151954 requests in 2.01s, 23.33MB read
Requests/sec:  75720.46
Transfer/sec:     11.63MB
`

// wrkErrors is wrk's output when some answers were errors, with latencies
// in seconds.
const wrkErrors = `Running 1s test @ http://127.0.0.1:8080/nothing
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20s   100.00ms   1.90s    90.00%
    Req/Sec     1.00      0.50     2.00     50.00%
  Latency Distribution
     50%    1.10s 
     75%    1.50s 
     90%    1.80s 
     99%    1.90s 
  80 requests in 1.00s, 12.41KB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 80
Requests/sec:     79.87
Transfer/sec:     12.39KB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name    string
		output  string
		want    wrkResult
		wantErr error // nil for success
	}{{
		name:   "latency distribution and totals",
		output: wrkOK,
		want: wrkResult{Requests: 151954, Elapsed: 2010 * time.Millisecond, RPS: 75720.46,
			P50: 637 * time.Microsecond, P99: 7900 * time.Microsecond},
	}, {
		name:   "error answers, socket errors, seconds",
		output: wrkErrors,
		want: wrkResult{Requests: 80, Elapsed: time.Second, RPS: 79.87,
			P50: 1100 * time.Millisecond, P99: 1900 * time.Millisecond, Non2xx: 80, SocketErrors: 10},
	}, {
		name:    "run without --latency",
		output:  cut(wrkOK, "  Latency Distribution", "  151954"),
		wantErr: ErrWrkOutput,
	}, {
		name:    "no Requests/sec line",
		output:  cut(wrkOK, "Requests/sec", "Transfer/sec"),
		wantErr: ErrWrkOutput,
	}, {
		name:    "unknown latency unit",
		output:  strings.Replace(wrkOK, "7.90ms", "7.90xs", 1),
		wantErr: ErrWrkOutput,
	}, {
		name:    "usage text instead of a run",
		output:  "Usage: wrk <options> <url>\n  Options:\n",
		wantErr: ErrWrkOutput,
	}, {
		name:    "empty output",
		output:  "",
		wantErr: ErrWrkOutput,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(strings.NewReader(tt.output))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// cut removes the lines of s from the one starting with from up to, not
// including, the one starting with to.
func cut(s, from, to string) string {
	i, j := strings.Index(s, from), strings.Index(s, to)
	if i < 0 || j < i {
		panic("cut: markers not found in order")
	}
	return s[:i] + s[j:]
}

// The parser takes another program's output: whatever it reads, it must
// not panic, and what it accepts must make sense.
func FuzzParseWrk(f *testing.F) {
	f.Add(wrkOK)
	f.Add(wrkErrors)
	f.Add("     50%  -1us\n     99%  1us\n 1 requests in 1s, 1B read\nRequests/sec: 1\n")
	f.Fuzz(func(t *testing.T, output string) {
		res, err := parseWrk(strings.NewReader(output))
		if err != nil {
			return
		}
		if res.P50 < 0 || res.P99 < 0 || res.Elapsed < 0 || res.Requests < 0 || res.RPS < 0 {
			t.Fatalf("accepted negative figures: %+v", res)
		}
	})
}
