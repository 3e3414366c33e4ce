package agent

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/coder/websocket"

	"github.com/agentvisor/agentvisor/httpapi"
)

// wsEcho is the answer to one WebSocket message.
type wsEcho struct {
	Echo      json.RawMessage `json:"echo"`
	SessionID *string         `json:"session_id"`
}

// wsError answers a message that is not JSON text.
type wsError struct {
	Error string `json:"error"`
}

// echoWebSocket answers each text message holding JSON m with
// {"echo": m, "session_id": <session id or null>}, until the client closes.
func (a *agent) echoWebSocket(ctx context.Context, conn *websocket.Conn, req *httpapi.Request) error {
	var session *string
	if req.SessionID != "" {
		session = &req.SessionID
	}
	for {
		typ, msg, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		var answer any = wsEcho{Echo: msg, SessionID: session}
		if typ != websocket.MessageText || !json.Valid(msg) {
			answer = wsError{Error: "expected a text message holding JSON"}
		}
		if err := writeJSON(ctx, conn, answer); err != nil {
			return err
		}
	}
}

func writeJSON(ctx context.Context, conn *websocket.Conn, v any) error {
	b, err := httpapi.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	return nil
}
