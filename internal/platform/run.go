package platform

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// httpStopTimeout bounds the wait for open invocations once the sessions
// have ended: their agents are gone, so their forwards end at once.
const httpStopTimeout = 5 * time.Second

// Run serves the API on ln until ctx is done, then ends every session
// (Close) and stops serving. Sessions end before the HTTP server so that a
// stream open to a session is cut by its agent's end, as on the platform,
// rather than waited for.
func (e *Emulator) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1) // Serve's one result
	go func() { served <- srv.Serve(ln) }()
	e.log.Info().Str("addr", ln.Addr().String()).Strs("command", e.cfg.Command).
		Dur("idle_timeout", e.cfg.IdleTimeout).Dur("max_lifetime", e.cfg.MaxLifetime).
		Dur("ping_interval", e.cfg.PingInterval).Dur("stop_grace", e.cfg.StopGrace).Msg("listening")
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	e.log.Info().Int("sessions", len(e.Sessions())).Msg("stopping: ending every session")
	closeErr := e.Close(context.Background()) // bounded by StopGrace per agent
	stopCtx, cancel := context.WithTimeout(context.Background(), httpStopTimeout)
	defer cancel()
	shutErr := srv.Shutdown(stopCtx)
	if serveErr == nil {
		serveErr = <-served
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	e.log.Info().Msg("stopped")
	return errors.Join(serveErr, closeErr, shutErr)
}
