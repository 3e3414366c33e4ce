package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Errors of `agent tree`.
var (
	// errUnreachable is an agent that did not answer at all.
	errUnreachable = errors.New("cannot reach the agent")
	// errDebugOff is an agent that answers 404 on /debug/actors.
	errDebugOff = errors.New("debug mode is off: start the agent with -debug or AGENT_DEBUG=1")
	// errTreeRefused is any other answer than the tree.
	errTreeRefused = errors.New("the agent did not answer the tree")
)

const (
	// treeRequestTimeout bounds one fetch of the tree: the agent answers in
	// milliseconds, a hung one should not hang the terminal.
	treeRequestTimeout = 5 * time.Second
	// maxTreeBytes bounds an answer; a page of 1000 tasks is far below it.
	maxTreeBytes = 64 << 20
	// clearScreen moves the cursor home and clears the terminal, as watch(1).
	clearScreen = "\x1b[H\x1b[2J"
)

// treeConfig is the command line of `agent tree`.
type treeConfig struct {
	base     string // the agent's base URL, without a trailing slash
	watch    bool
	json     bool
	limit    int // tasks per answer; 0 leaves the agent's default
	offset   int
	interval time.Duration
}

// parseTreeConfig reads the arguments that follow `agent tree`.
func parseTreeConfig(args []string, usage io.Writer) (treeConfig, error) {
	fs := flag.NewFlagSet("agent tree", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() {
		fmt.Fprintln(usage, "usage: agent tree [flags]\n\nPrints the live actor tree of a running agent in debug mode, one line per actor.")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "http://127.0.0.1:8080", "the agent's address (a URL, or host:port)")
	watch := fs.Bool("watch", false, "redraw every -interval until interrupted")
	asJSON := fs.Bool("json", false, "print the agent's JSON as it is (one document per line with -watch)")
	limit := fs.Int("limit", 0, "tasks to show, at most 1000 (default: the agent's, 100)")
	offset := fs.Int("offset", 0, "tasks to skip, in start order")
	interval := fs.Duration("interval", time.Second, "time between redraws with -watch")
	if err := fs.Parse(args); err != nil {
		return treeConfig{}, err
	}
	if fs.NArg() > 0 {
		return treeConfig{}, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	base, err := baseURL(*addr)
	if err != nil {
		return treeConfig{}, err
	}
	if *limit < 0 || *offset < 0 || *interval <= 0 {
		return treeConfig{}, fmt.Errorf("%w: -limit and -offset must be >= 0, -interval > 0", errUsage)
	}
	return treeConfig{base: base, watch: *watch, json: *asJSON, limit: *limit, offset: *offset, interval: *interval}, nil
}

// baseURL accepts a URL or a bare host:port, as the agent's -addr is.
func baseURL(addr string) (string, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%w: -addr %q: want a URL like http://127.0.0.1:8080", errUsage, addr)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// runTree is `agent tree`: it prints the tree once, or until ctx is done
// with -watch.
func runTree(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseTreeConfig(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: treeRequestTimeout, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	if !cfg.watch {
		frame, err := treeFrame(ctx, client, cfg)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, frame)
		return err
	}
	return watchTree(ctx, client, cfg, stdout)
}

// watchTree redraws the tree every interval until ctx is done. An agent
// that goes away or restarts is shown as an error and watched on.
func watchTree(ctx context.Context, client *http.Client, cfg treeConfig, stdout io.Writer) error {
	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	for {
		frame, err := treeFrame(ctx, client, cfg)
		if ctx.Err() != nil {
			return nil // interrupted: the normal end of a watch
		}
		if err != nil {
			frame = "agent tree: " + err.Error() + "\n"
		}
		if !cfg.json {
			frame = fmt.Sprintf("%sagent tree %s, every %s (Ctrl-C to stop)\n\n%s", clearScreen, cfg.base, cfg.interval, frame)
		}
		if _, err := io.WriteString(stdout, frame); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// treeFrame fetches the tree and formats it: text, or the JSON as sent.
func treeFrame(ctx context.Context, client *http.Client, cfg treeConfig) (string, error) {
	body, err := fetchTree(ctx, client, cfg)
	if err != nil {
		return "", err
	}
	if cfg.json {
		return strings.TrimSpace(string(body)) + "\n", nil
	}
	return formatTree(body)
}

func fetchTree(ctx context.Context, client *http.Client, cfg treeConfig) ([]byte, error) {
	q := url.Values{}
	if cfg.limit > 0 {
		q.Set("limit", strconv.Itoa(cfg.limit))
	}
	if cfg.offset > 0 {
		q.Set("offset", strconv.Itoa(cfg.offset))
	}
	u := cfg.base + "/debug/actors"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w at %s (is it running?): %w", errUnreachable, cfg.base, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxTreeBytes))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read the tree from %s: %w", cfg.base, err)
	case res.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%s: %w", cfg.base, errDebugOff)
	case res.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s answered %s: %s", errTreeRefused, u, res.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}
