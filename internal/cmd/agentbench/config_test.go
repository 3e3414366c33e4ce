package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		duration  time.Duration // want
		ops       int           // want
		heapTasks []int         // want
	}{
		{"defaults: the full run", nil, 4 * time.Second, 500_000, []int{100_000, 1_000_000}},
		{"quick", []string{"-quick"}, time.Second, 20_000, []int{100_000}},
		{"flags given win over quick", []string{"-duration", "3s", "-quick", "-heap-tasks", "5,6"}, 3 * time.Second, 20_000, []int{5, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.duration != tt.duration || cfg.ops != tt.ops || !slices.Equal(cfg.heapTasks, tt.heapTasks) {
				t.Errorf("duration %s, ops %d, heap tasks %v; want %s, %d, %v",
					cfg.duration, cfg.ops, cfg.heapTasks, tt.duration, tt.ops, tt.heapTasks)
			}
		})
	}
}

func TestParseConfigRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want error // nil: any error, as the flag package flattens the errors of flag values
	}{
		{"duration wrk cannot take", []string{"-duration", "1500ms"}, ErrUsage},
		{"duration under a second", []string{"-duration", "0s"}, ErrUsage},
		{"no connections", []string{"-connections", "0"}, ErrUsage},
		{"more threads than connections", []string{"-threads", "8", "-connections", "4"}, ErrUsage},
		{"count that is not a number", []string{"-heap-tasks", "100,lots"}, nil},
		{"unknown scenario", []string{"-scenarios", "2,7"}, nil},
		{"stray argument", []string{"now"}, ErrUsage},
		{"help", []string{"-h"}, flag.ErrHelp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, io.Discard)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}
