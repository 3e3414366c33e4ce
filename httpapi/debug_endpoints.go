package httpapi

// The /debug/ endpoints, this project's own actor-tree inspection: the page,
// the tree, the task lists and the cancel command. The contract's debug
// actions (on /invocations) are in debug_actions.go; the JSON the endpoints
// answer is shaped in debug_views.go.

import (
	_ "embed" // the debug page
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog/hlog"

	"github.com/agentvisor/agentvisor/supervisor"
)

// debugPageHTML is the page served at /debug/: one file, with its CSS and
// JavaScript inline, because the machines that run agents have no internet.
//
//go:embed debug_page.html
var debugPageHTML []byte

// debugPageCSP lets the page run its own inline code and talk to its own
// origin, and nothing else: a stray external asset fails loudly in the
// browser instead of hanging on a machine without internet.
const debugPageCSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
	"connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// debugEndpoints adds the /debug/ endpoints. The router calls it only in
// debug mode, so that otherwise every /debug/ path is an unknown path (404).
func (s *Server) debugEndpoints(r *mux.Router) {
	debugEndpoint(r, "/debug/", s.serveDebugPage, http.MethodGet)
	debugEndpoint(r, "/debug/actors", s.serveDebugActors, http.MethodGet)
	debugEndpoint(r, "/debug/tasks", s.serveDebugTasks, http.MethodGet)
	debugEndpoint(r, "/debug/tasks/{id}", s.serveDebugTask, http.MethodGet)
	debugEndpoint(r, "/debug/tasks/{id}/cancel", s.serveDebugCancel, http.MethodPost)
	// The page fetches its data by relative URLs, which need the slash.
	r.Handle("/debug", http.RedirectHandler("/debug/", http.StatusMovedPermanently))
}

// debugEndpoint routes path to h for methods, and any other method to a 405
// that names them: the router's own 405 handler knows only fixed paths.
func debugEndpoint(r *mux.Router, path string, h http.HandlerFunc, methods ...string) {
	r.Handle(path, h).Methods(methods...)
	allow := strings.Join(methods, ", ")
	r.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, r, ErrMethodNotAllowed)
	})
}

// warnDebug says, once per server, that debug mode exposes the agent.
func (s *Server) warnDebug() {
	if s.cfg.Debug {
		s.log.Warn().Msg("debug mode is on: /debug/ endpoints and debug actions are exposed " +
			"(anyone who reaches this port can see every task and cancel it); never turn it on in production")
	}
}

func (s *Server) serveDebugPage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", debugPageCSP)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(debugPageHTML)
}

// serveDebugActors answers the live actor tree, one page of tasks of it.
func (s *Server) serveDebugActors(w http.ResponseWriter, r *http.Request) {
	serveTreeView(s, w, r, viewTree)
}

// serveDebugTasks answers the live tasks as a flat list, newest first, or
// with ?state=finished the kept outcomes of ended tasks, newest first.
func (s *Server) serveDebugTasks(w http.ResponseWriter, r *http.Request) {
	state, err := parseTaskListState(r.URL.Query())
	switch {
	case err != nil:
		writeError(w, r, err)
	case state == listFinished:
		s.serveFinishedTasks(w, r)
	default:
		serveTreeView(s, w, r, viewTaskList)
	}
}

// serveFinishedTasks answers one page of the kept outcomes.
func (s *Server) serveFinishedTasks(w http.ResponseWriter, r *http.Request) {
	page, err := parseDebugPage(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	results, err := s.sup.Results(r.Context())
	if err != nil {
		writeError(w, r, fmt.Errorf("read the kept outcomes: %w", err))
		return
	}
	writeDebugJSON(w, r, viewFinishedList(results, page, time.Now()))
}

// serveTreeView answers one page of a view of the live tree.
func serveTreeView[V any](s *Server, w http.ResponseWriter, r *http.Request, view func(supervisor.Node, viewContext) V) {
	page, err := parseDebugPage(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	tree, err := s.tree(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeDebugJSON(w, r, view(tree, s.viewContext(page)))
}

// viewContext is read after the tree, so that its clock is not behind the
// tree's times.
func (s *Server) viewContext(page debugPage) viewContext {
	last := s.lastInvocation() // before the clock, which must not be behind it
	return viewContext{page: page, now: time.Now(), lastInvocation: last, idleTimeout: s.cfg.SessionIdleTimeout, busyAfter: s.cfg.BusyAfter}
}

// serveDebugTask answers one live task's node, or, once the task ended, its
// kept outcome as the finished list shows it. The tree is asked first: a
// task whose actor still stops is in it, its outcome already kept.
func (s *Server) serveDebugTask(w http.ResponseWriter, r *http.Request) {
	id, err := taskIDParam(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	tree, err := s.tree(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if node, ok := findTask(tree, id); ok {
		writeDebugJSON(w, r, viewNode(node, s.viewContext(debugPage{})))
		return
	}
	if t, ok := s.endedTask(id); ok {
		writeDebugJSON(w, r, viewFinished(t))
		return
	}
	writeError(w, r, taskNotFound(id))
}

// endedTask returns the kept outcome of task id, false if it is unknown,
// expired, or (started since the tree was read) live.
func (s *Server) endedTask(id supervisor.TaskID) (supervisor.Task, bool) {
	t, ok := s.sup.Task(id)
	return t, ok && t.State == supervisor.StateOver
}

// cancelAnswer is the answer of a cancel that took.
type cancelAnswer struct {
	TaskID    supervisor.TaskID `json:"task_id"`
	Cancelled bool              `json:"cancelled"`
}

// serveDebugCancel cancels one task: it ends once its function returns, or
// is abandoned after its cancel grace.
func (s *Server) serveDebugCancel(w http.ResponseWriter, r *http.Request) {
	if err := sameOrigin(r); err != nil {
		writeError(w, r, err)
		return
	}
	id, err := taskIDParam(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if s.sup.Cancel(id) {
		hlog.FromRequest(r).Info().Uint64("task_id", uint64(id)).Msg("task cancelled from the debug endpoint")
		writeDebugJSON(w, r, cancelAnswer{TaskID: id, Cancelled: true})
		return
	}
	writeError(w, r, s.whyNotCancelled(r, id))
}

// whyNotCancelled tells a task that is unknown or expired from one that is
// past cancelling: live but cancelling, abandoned or stopping, or over.
func (s *Server) whyNotCancelled(r *http.Request, id supervisor.TaskID) error {
	tree, err := s.tree(r)
	if err != nil {
		return err
	}
	if node, ok := findTask(tree, id); ok {
		return withDetails(ErrTaskNotCancellable, fmt.Sprintf("task %d is %s", id, node.State))
	}
	if t, ok := s.endedTask(id); ok {
		return withDetails(ErrTaskNotCancellable, fmt.Sprintf("task %d is over (%s)", id, t.Outcome))
	}
	return taskNotFound(id)
}

func (s *Server) tree(r *http.Request) (supervisor.Node, error) {
	tree, err := s.sup.Tree(r.Context())
	if err != nil {
		return tree, fmt.Errorf("describe the actor tree: %w", err)
	}
	return tree, nil
}

func taskIDParam(r *http.Request) (supervisor.TaskID, error) {
	s := mux.Vars(r)["id"]
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, withDetails(ErrInvalidTaskID, fmt.Sprintf("%q is not a task id (a positive integer)", s))
	}
	return supervisor.TaskID(n), nil
}

func taskNotFound(id supervisor.TaskID) error {
	return withDetails(ErrTaskNotFound, fmt.Sprintf("no live or kept task %d", id))
}

// sameOrigin refuses a request that a browser sent from a page of another
// origin. Clients that send no Origin (curl, agent tree) pass; the debug
// page sends its own.
func sameOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	if u, err := url.Parse(origin); err == nil && u.Host == r.Host {
		return nil
	}
	return withDetails(ErrCrossOrigin, fmt.Sprintf("origin %q is not %q", origin, r.Host))
}
