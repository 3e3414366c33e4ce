package httpapi

import (
	"net/http"
	"strconv"

	"github.com/agentvisor/agentvisor/supervisor"
)

// pingBody is a /ping answer, kept while the status and its time hold so
// that a ping allocates nothing in the steady state.
type pingBody struct {
	ping   supervisor.Ping
	body   []byte
	length []string // the Content-Length header's value
}

func newPingBody(p supervisor.Ping) *pingBody {
	b := make([]byte, 0, 64)
	b = append(b, `{"status":"`...)
	b = append(b, p.Status.String()...)
	b = append(b, `","time_of_last_update":`...)
	b = strconv.AppendInt(b, p.Since.Unix(), 10)
	b = append(b, '}')
	return &pingBody{ping: p, body: b, length: []string{strconv.Itoa(len(b))}}
}

// servePing answers GET and HEAD /ping from the supervisor's lock-free
// snapshot: it must stay fast whatever else the agent is doing.
func (s *Server) servePing(w http.ResponseWriter, r *http.Request) {
	b := s.pingBody(s.sup.PingStatus())
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = b.length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.body)
	}
}

func (s *Server) pingBody(p supervisor.Ping) *pingBody {
	if last := s.lastPing.Load(); last != nil && last.ping.Status == p.Status && last.ping.Since.Equal(p.Since) {
		return last
	}
	b := newPingBody(p)
	s.lastPing.Store(b)
	return b
}
