package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// browserTimeout bounds each browser test, so that a selector that never
// matches fails the test instead of hanging it.
const browserTimeout = 30 * time.Second

// chromiumPath is Debian's chromium, or $CHROMIUM. Without it the browser
// tests fail under CI (which installs it: .ci/run) and skip, saying why,
// elsewhere.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("chromium not found at %s under CI: apt-get install chromium (.ci/run does): %v", path, err)
		}
		tb.Skipf("chromium not found at %s: apt-get install chromium", path)
	}
	return path
}

// mustBrowser starts a headless chromium with a fresh profile and returns
// a context for its first tab; the test's cleanup closes the browser and
// waits for it to exit.
func mustBrowser(tb testing.TB) context.Context {
	tb.Helper()
	dir := tb.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(tb)),
		chromedp.UserDataDir(dir),
		// Chromium leaves its singleton socket's folder in $TMPDIR; keep it
		// in the test's own folder, which the test removes.
		chromedp.Env("TMPDIR=" + dir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1400, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() {
		cancelBrowser() // closes the browser
		cancelAlloc()   // waits for its process
	})
	if err := chromedp.Do(ctx); err != nil { // starts it, so that a broken install fails here
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// newTab opens a tab in the test's browser, bounded by browserTimeout.
func newTab(tb testing.TB, browser context.Context) context.Context {
	tb.Helper()
	tab, cancelTab := chromedp.NewContext(browser)
	ctx, cancel := context.WithTimeout(tab, browserTimeout)
	tb.Cleanup(func() { cancel(); cancelTab() })
	return ctx
}

// inBrowser runs steps in the tab of ctx, failing the test on an error.
func inBrowser(tb testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.Fatalf("%s: %v", what, browserError(err))
	}
}

// fromBrowser runs one action that reads a value in the tab of ctx.
func fromBrowser[T any](tb testing.TB, ctx context.Context, what string, action chromedp.Action[T]) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		tb.Fatalf("%s: %v", what, browserError(err))
	}
	return v
}

func browserError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: the page never got there in %s", err, browserTimeout)
	}
	return err
}

// row is the CSS selector of a task's row on the debug page; in sets the
// selector of an element in it.
func row(id supervisor.TaskID, in ...string) chromedp.CSS {
	return chromedp.CSS(strings.TrimSpace(fmt.Sprintf(`tr[data-task-id="%d"] %s`, id, strings.Join(in, " "))))
}

// finishedRow is the CSS selector of an ended task's row in the page's
// finished list; in sets the selector of an element in it.
func finishedRow(id supervisor.TaskID, in ...string) chromedp.CSS {
	return chromedp.CSS(strings.TrimSpace(fmt.Sprintf(`#finished tr[data-finished-id="%d"] %s`, id, strings.Join(in, " "))))
}

// status is the CSS selector of the page's ping status showing s.
func status(s supervisor.Status) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`#ping-status[data-status="%s"]`, s))
}

func TestDebugPageInBrowser(t *testing.T) {
	browser := mustBrowser(t)

	t.Run("a task appears, is cancelled with its button and disappears", func(t *testing.T) {
		sup, base := mustDebugServer(t)
		ctx := newTab(t, browser)
		inBrowser(t, ctx, "load the page", chromedp.Navigate(base+"/debug/"), chromedp.WaitVisible(status(supervisor.Healthy)))
		id, err := sup.Go("browser-task", map[string]any{"who": "chromium"}, blockUntilCancelled)
		if err != nil {
			t.Fatal(err)
		}
		inBrowser(t, ctx, "see the task appear", chromedp.WaitVisible(row(id)), chromedp.WaitVisible(status(supervisor.HealthyBusy)))
		if name := fromBrowser(t, ctx, "read its name", chromedp.Text(row(id, "td.name"))); name != "browser-task" {
			t.Fatalf("the row shows %q", name)
		}
		inBrowser(t, ctx, "press cancel and see the task go",
			chromedp.Click(row(id, "button.cancel")),
			chromedp.WaitNotPresent(row(id)),
			chromedp.WaitVisible(status(supervisor.Healthy)))
		if info := sup.AsyncTaskInfo(); info.ActiveCount != 0 {
			t.Fatalf("the supervisor still tracks %+v", info)
		}
		inBrowser(t, ctx, "see it among the finished tasks", chromedp.WaitVisible(finishedRow(id)))
		if outcome := fromBrowser(t, ctx, "read its outcome", chromedp.Text(finishedRow(id, "td.outcome"))); outcome != "cancelled" {
			t.Fatalf("the finished row shows %q", outcome)
		}
	})

	t.Run("ended tasks are listed with their outcome, result or error", func(t *testing.T) {
		sup, base := mustDebugServer(t)
		ctx := newTab(t, browser)
		inBrowser(t, ctx, "load the page", chromedp.Navigate(base+"/debug/"), chromedp.WaitVisible(status(supervisor.Healthy)))
		summed, err := supervisor.GoResult(sup, "sum", nil, func(context.Context) (map[string]int, error) {
			return map[string]int{"total": 3}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		endOver(t, sup, summed) // so that the failed task is the newest
		failed, err := sup.Go("fetch", nil, func(context.Context) error { return errors.New("connection reset") })
		if err != nil {
			t.Fatal(err)
		}
		inBrowser(t, ctx, "see both finished", chromedp.WaitVisible(finishedRow(summed)), chromedp.WaitVisible(finishedRow(failed)))
		tests := []struct {
			id          supervisor.TaskID
			wantOutcome string
			wantName    string
			wantResult  string // the error or the result column
		}{
			{summed, "succeeded", "sum", `{"total":3}`},
			{failed, "failed", "fetch", "connection reset"},
		}
		for _, tt := range tests {
			got := []string{
				fromBrowser(t, ctx, "outcome", chromedp.Text(finishedRow(tt.id, "td.outcome"))),
				fromBrowser(t, ctx, "name", chromedp.Text(finishedRow(tt.id, "td:nth-child(2)"))),
				fromBrowser(t, ctx, "result", chromedp.Text(finishedRow(tt.id, "td.result"))),
			}
			if want := []string{tt.wantOutcome, tt.wantName, tt.wantResult}; !slices.Equal(got, want) {
				t.Errorf("task %d: row %q, want %q", tt.id, got, want)
			}
		}
		first := fromBrowser(t, ctx, "first finished row", chromedp.Evaluate[supervisor.TaskID](`Number(document.querySelector('#finished tbody tr').dataset.finishedId)`))
		if first != failed {
			t.Errorf("first finished row is task %d, want the newest, %d", first, failed)
		}
	})

	t.Run("force busy, force healthy and clear", func(t *testing.T) {
		sup, base := mustDebugServer(t)
		ctx := newTab(t, browser)
		steps := []struct {
			button string
			want   supervisor.Status
		}{
			{"#force-busy", supervisor.HealthyBusy},
			{"#force-healthy", supervisor.Healthy},
			{"#force-busy", supervisor.HealthyBusy},
			{"#clear-forced", supervisor.Healthy},
		}
		inBrowser(t, ctx, "load the page", chromedp.Navigate(base+"/debug/"), chromedp.WaitVisible(status(supervisor.Healthy)))
		for _, s := range steps {
			inBrowser(t, ctx, "press "+s.button, chromedp.Click(chromedp.CSS(s.button)), chromedp.WaitVisible(status(s.want)))
			if got := sup.PingStatus().Status; got != s.want {
				t.Fatalf("after %s the agent says %s, want %s", s.button, got, s.want)
			}
		}
	})

	t.Run("a progress bar for a task that reports progress", func(t *testing.T) {
		sup, base := mustDebugServer(t)
		ctx := newTab(t, browser)
		id, err := sup.Go("crunch", nil, func(ctx context.Context) error {
			if err := supervisor.Progress(ctx, 0.42, "step 3"); err != nil {
				return err
			}
			return blockUntilCancelled(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		inBrowser(t, ctx, "see the bar", chromedp.Navigate(base+"/debug/"), chromedp.WaitVisible(row(id, ".bar")))
		width := fromBrowser(t, ctx, "bar width", chromedp.Evaluate[string](`document.querySelector('`+string(row(id, ".bar > span"))+`').style.width`))
		label := fromBrowser(t, ctx, "its label", chromedp.Text(row(id, "td.progress")))
		if width != "42%" || label != "42% step 3" {
			t.Fatalf("bar %q, label %q", width, label)
		}
	})

	t.Run("fields the page does not know", func(t *testing.T) {
		_, base := mustDebugServer(t)
		ctx := newTab(t, browser)
		// A tree from a later agent, with fields this page has never seen:
		// it shows them as they are, with refreshes paused.
		const tree = `{"kind":"system","pid":"sys","state":"running","children":[
		  {"kind":"task_supervisor","pid":"tasks","state":"running","quota":{"max_tasks":5},
		   "task_counts":{"total":1,"busy":1,"by_state":{"running":1}},"page":{"offset":0,"limit":100},
		   "children":[{"kind":"task","pid":"tasks/task-77","state":"running","task":{"task_id":77,"name":"crunch",
		     "metadata":null,"manual":false,"state":"running","started":"2026-01-01T00:00:00Z","restarts":0,
		     "duration_seconds":3,"busy":true,"lease":"2026-01-01T00:00:02Z"}}]}]}`
		inBrowser(t, ctx, "render a tree from a later agent",
			chromedp.Navigate(base+"/debug/"),
			chromedp.WaitVisible(status(supervisor.Healthy)),
			chromedp.Click(chromedp.CSS(`#pause`)),
			chromedp.Poll[chromedp.Void](`!inflight`), // a refresh in flight would redraw the real tree
			chromedp.Evaluate[chromedp.Void](`syncNodes(document.getElementById('tree'), [`+tree+`], Date.now())`),
			chromedp.WaitVisible(row(77)))
		other := fromBrowser(t, ctx, "other fields", chromedp.Text(row(77, "td.extra")))
		supLine := fromBrowser(t, ctx, "supervisor line", chromedp.Text(chromedp.CSS(`li[data-kind="task_supervisor"] > .label .extra`)))
		if other != `lease: "2026-01-01T00:00:02Z"` || supLine != `quota: {"max_tasks":5}` {
			t.Fatalf("other %q, supervisor %q", other, supLine)
		}
	})

	t.Run("the status history as a strip, and what the platform will do", func(t *testing.T) {
		sup, base := mustDebugServer(t)
		ctx := newTab(t, browser)
		inBrowser(t, ctx, "load the page", chromedp.Navigate(base+"/debug/"), chromedp.WaitVisible(status(supervisor.Healthy)),
			chromedp.WaitVisible(chromedp.CSS(`#projection[data-kind="idle"]`)))
		sentence := fromBrowser(t, ctx, "read the sentence", chromedp.Text(chromedp.CSS(`#projection`)))
		m := regexp.MustCompile(`^idle for \d+s: with an idle timeout of 15m the platform ends this session at (\d\d:\d\d:\d\d) UTC unless work starts$`).FindStringSubmatch(sentence)
		endsAt := child(t, getTree(t, base, "").nodeJSON, "status").Status.Projection.EndsAt
		if m == nil || m[1] != endsAt.UTC().Format(time.TimeOnly) {
			t.Fatalf("the page says %q; the agent ends it at %v", sentence, endsAt)
		}
		// No change yet: the agent was not running before its status began.
		if got := stripSegments(t, ctx); !slices.Equal(segmentStatuses(got), []string{"", "Healthy"}) {
			t.Fatalf("strip before any change: %+v", got)
		}

		id, err := sup.Go("busy-a-while", nil, blockUntilCancelled)
		if err != nil {
			t.Fatal(err)
		}
		inBrowser(t, ctx, "see it busy", chromedp.WaitVisible(status(supervisor.HealthyBusy)),
			chromedp.WaitVisible(chromedp.CSS(`#projection[data-kind="busy"]`)))
		sentence = fromBrowser(t, ctx, "read the sentence", chromedp.Text(chromedp.CSS(`#projection`)))
		if !regexp.MustCompile(`^busy since \d\d:\d\d:\d\d UTC \(\d+s ago\): the platform keeps this session while /ping says HealthyBusy, up to its max lifetime$`).MatchString(sentence) {
			t.Fatalf("busy, the page says %q", sentence)
		}
		sup.Cancel(id)
		inBrowser(t, ctx, "see the history drawn",
			chromedp.WaitVisible(status(supervisor.Healthy)),
			chromedp.Poll[chromedp.Void](`document.querySelectorAll('#timeline .seg').length === 3`))
		got := stripSegments(t, ctx)
		if want := []string{"Healthy", "HealthyBusy", "Healthy"}; !slices.Equal(segmentStatuses(got), want) {
			t.Fatalf("strip %+v, want %q", got, want)
		}
		if got[1].Why != "task_started" || got[2].Why != "task_ended" ||
			!strings.Contains(got[1].Title, "changed by task_started\nended by task_ended") || !strings.HasPrefix(got[1].Title, "HealthyBusy from ") ||
			!strings.Contains(got[2].Title, " to now (") {
			t.Fatalf("the reasons on hover: %+v", got)
		}
		// The segments tile the strip: the hour, left to right, no gap.
		end := 0.0
		for _, g := range got {
			if math.Abs(g.Left-end) > 0.01 {
				t.Fatalf("segment %+v starts at %v%%, the previous ended at %v%%", g, g.Left, end)
			}
			end = g.Left + g.Width
		}
		if math.Abs(end-100) > 0.01 {
			t.Fatalf("the strip ends at %v%%: %+v", end, got)
		}
	})

	t.Run("a long request under the status actor", func(t *testing.T) {
		_, _, base, release := longServer(t, httpapi.Config{BusyAfter: busyAfter, Debug: true})
		ctx := newTab(t, browser)
		inBrowser(t, ctx, "load the page", chromedp.Navigate(base+"/debug/"), chromedp.WaitVisible(status(supervisor.Healthy)))
		header := http.Header{}
		header.Set(httpapi.HeaderSessionID, "browser-session-0123456789-0123456789")
		header.Set(httpapi.HeaderRequestID, "req-7")
		done := make(chan answer, 1)
		go func() { done <- do(t, http.MethodPost, base+"/invocations", `"plain"`, header) }()
		const request = `li[data-kind="status"] li[data-kind="request"] > .label .kind`
		inBrowser(t, ctx, "see the request", chromedp.WaitVisible(chromedp.CSS(request)), chromedp.WaitVisible(status(supervisor.HealthyBusy)))
		line := fromBrowser(t, ctx, "read it", chromedp.Text(chromedp.CSS(request)))
		close(release)
		if a := <-done; a.status != http.StatusOK {
			t.Fatalf("invocation: %d %s", a.status, a.body)
		}
		re := regexp.MustCompile(`^long request · POST /invocations · open \d+\.\ds, busy \d+\.\ds · session browser-session-0123456789-0123456789 · request req-7$`)
		if !re.MatchString(line) {
			t.Fatalf("the request's line: %q", line)
		}
		inBrowser(t, ctx, "see it go", chromedp.WaitNotPresent(chromedp.CSS(request)), chromedp.WaitVisible(status(supervisor.Healthy)))
	})

	t.Run("10,000 tasks: one page at a time", func(t *testing.T) {
		if testing.Short() {
			t.Skip("10,000 actors: skipped with -short")
		}
		sup, base := mustDebugServer(t)
		ids := addManualTasks(t, sup, 10_000)
		ctx := newTab(t, browser)
		const rows = `document.querySelectorAll('#tree tbody tr').length`
		inBrowser(t, ctx, "load the first page",
			chromedp.Navigate(base+"/debug/"),
			chromedp.Poll[chromedp.Void](`document.querySelector('#tree .range')?.textContent === 'tasks 1–100 of 10000'`))
		if n := fromBrowser(t, ctx, "count rows", chromedp.Evaluate[int](rows)); n != 100 {
			t.Fatalf("%d rows on the first page, want 100", n)
		}
		inBrowser(t, ctx, "go to the next page",
			chromedp.Click(chromedp.CSS(`#tree button.next`)),
			chromedp.Poll[chromedp.Void](`document.querySelector('#tree .range').textContent === 'tasks 101–200 of 10000'`))
		n := fromBrowser(t, ctx, "count rows", chromedp.Evaluate[int](rows))
		first := fromBrowser(t, ctx, "first row", chromedp.Evaluate[supervisor.TaskID](`Number(document.querySelector('#tree tbody tr').dataset.taskId)`))
		if n != 100 || first != ids[100] {
			t.Fatalf("second page: %d rows from task %d, want 100 from %d", n, first, ids[100])
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		path := os.Getenv("DEBUG_PAGE_SCREENSHOT")
		if path == "" {
			t.Skip("set DEBUG_PAGE_SCREENSHOT=/tmp/debug-page.png (or make screenshot) to save a screenshot of the page")
		}
		_, sup, base, release := longServer(t, httpapi.Config{BusyAfter: busyAfter, Debug: true})
		ctx := newTab(t, browser)
		inBrowser(t, ctx, "load the page, the strip over the last minute", chromedp.Navigate(base+"/debug/"),
			chromedp.WaitVisible(status(supervisor.Healthy)),
			chromedp.Evaluate[chromedp.Void](`const w = document.getElementById('window'); w.value = '60'; w.dispatchEvent(new Event('change'))`))
		// A history worth drawing takes real seconds: a task busy for a
		// while, then an idle spell, then the tasks of the picture.
		warmup, err := sup.Go("warmup", nil, func(ctx context.Context) error {
			select {
			case <-time.After(6 * time.Second):
			case <-ctx.Done():
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		inBrowser(t, ctx, "see the warmup end", chromedp.WaitVisible(finishedRow(warmup)))
		idle := time.NewTimer(5 * time.Second) // the idle spell itself, not a wait for an event
		<-idle.C
		header := http.Header{}
		header.Set(httpapi.HeaderSessionID, "7f3c9a2e-5b1d-4e8f-9a6c-2d4b8e1f0a3c")
		done := make(chan answer, 1)
		go func() { done <- do(t, http.MethodPost, base+"/invocations", `"plain"`, header) }()
		end := sync.OnceFunc(func() { close(release) })
		t.Cleanup(func() { end(); <-done })
		ids := startScreenshotTasks(t, sup)
		inBrowser(t, ctx, "see the tasks and the request",
			chromedp.WaitVisible(row(ids[len(ids)-1])),
			chromedp.WaitVisible(chromedp.CSS(`li[data-kind="request"]`)),
			chromedp.Poll[chromedp.Void](`document.querySelector('`+string(row(ids[3], "td:nth-child(5)"))+`').textContent >= '2'`),
			chromedp.Poll[chromedp.Void](`document.querySelector('`+string(row(ids[4], "td.state"))+`').textContent.startsWith('abandoned')`),
			chromedp.Poll[chromedp.Void](`document.querySelectorAll('#finished tbody tr').length >= 3`))
		png := fromBrowser(t, ctx, "screenshot", chromedp.FullScreenshot(100))
		end()
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s", path)
	})
}

// stripSegment is one segment of the page's status strip.
type stripSegment struct {
	Status string  `json:"status"`
	Why    string  `json:"why"`
	Title  string  `json:"title"`
	Left   float64 `json:"left"`  // percent of the strip
	Width  float64 `json:"width"` // percent of the strip
}

func stripSegments(tb testing.TB, ctx context.Context) []stripSegment {
	tb.Helper()
	return fromBrowser(tb, ctx, "read the strip", chromedp.Evaluate[[]stripSegment](`[...document.querySelectorAll('#timeline .seg')].map((e) => ({
		status: e.dataset.status, why: e.dataset.why, title: e.title,
		left: parseFloat(e.style.left), width: parseFloat(e.style.width)}))`))
}

func segmentStatuses(segs []stripSegment) []string {
	var s []string
	for _, g := range segs {
		s = append(s, g.Status)
	}
	return s
}

// startScreenshotTasks starts a few tasks in different states for the
// screenshot.
func startScreenshotTasks(t *testing.T, sup *supervisor.Supervisor) []supervisor.TaskID {
	t.Helper()
	var ids []supervisor.TaskID
	add := func(id supervisor.TaskID, err error) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	add(sup.Go("data_processing", map[string]any{"data_id": "sample_data"}, blockUntilCancelled, supervisor.WithTimeout(30*time.Minute)))
	add(sup.Go("cleanup", nil, blockUntilCancelled))
	add(sup.Go("embed_documents", map[string]any{"batch": 7}, func(ctx context.Context) error {
		if err := supervisor.Progress(ctx, 0.63, "chunk 63/100"); err != nil {
			return err
		}
		return blockUntilCancelled(ctx)
	}, supervisor.WithHeartbeat(time.Hour)))
	add(sup.Go("flaky_fetch", map[string]any{"url": "s3://bucket/key"}, func(context.Context) error {
		return errors.New("connection reset by peer")
	}, supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 999, InitialBackoff: 200 * time.Millisecond, MaxBackoff: time.Second})))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	started := make(chan struct{})
	add(sup.Go("stubborn", nil, func(context.Context) error { close(started); <-release; return nil }, supervisor.WithCancelGrace(time.Millisecond)))
	<-started // cancelled before it runs, it would just end
	sup.Cancel(ids[len(ids)-1])
	add(sup.AddAsyncTask("upload", map[string]any{"file": "report.pdf"}), nil)
	// Two that ended, for the finished list; not in ids, which are live.
	summarized, err := supervisor.GoResult(sup, "summarize", map[string]any{"doc": "q3.txt"}, func(context.Context) (map[string]any, error) {
		return map[string]any{"words": 1234, "summary": "Revenue grew 12% on cloud demand."}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	endOver(t, sup, summarized)
	if _, err := sup.Go("send_email", nil, func(context.Context) error { return errors.New("smtp: 550 mailbox unavailable") }); err != nil {
		t.Fatal(err)
	}
	return ids
}
