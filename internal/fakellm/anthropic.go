package fakellm

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Anthropic starts a fake of the Anthropic Messages API: POST /v1/messages,
// answered as JSON or, when the request says "stream": true, as the API's
// event stream (message_start, content_block_start/delta/stop,
// message_delta, message_stop). An error status answers the API's error
// body (529 is overloaded_error). Point the SDK's base URL at URL.
//
// Usage is written in the API's own terms: Usage.Input is the whole input,
// and input_tokens is what is left of it after the cache reads and writes.
func Anthropic(tb testing.TB) *Server {
	return newServer(tb, serveAnthropic)
}

var anthropicErrors = map[int]string{400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
	404: "not_found_error", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}

func serveAnthropic(w http.ResponseWriter, r *http.Request, body map[string]any, reply Reply) {
	if reply.Status >= 400 {
		t := anthropicErrors[reply.Status]
		if t == "" {
			t = "api_error"
		}
		writeJSON(w, reply.Status, map[string]any{"type": "error", "error": map[string]any{"type": t, "message": http.StatusText(reply.Status)}})
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/v1/messages") {
		writeJSON(w, http.StatusNotFound, map[string]any{"type": "error", "error": map[string]any{"type": "not_found_error", "message": "no such path"}})
		return
	}
	time.Sleep(reply.FirstChunkDelay)
	if stream, _ := body["stream"].(bool); stream {
		streamMessages(w, reply)
		return
	}
	content := []any{map[string]any{"type": "text", "text": reply.Text}}
	content = append(content, toolUses(reply.ToolCalls)...)
	msg := message(reply, content)
	msg["usage"] = anthropicUsage(reply.Usage, reply.Usage.Output)
	writeJSON(w, http.StatusOK, msg)
}

func message(reply Reply, content []any) map[string]any {
	return map[string]any{"id": "msg_fake", "type": "message", "role": "assistant", "model": reply.Model,
		"content": content, "stop_reason": "end_turn", "stop_sequence": nil}
}

func anthropicUsage(u Usage, output int64) map[string]any {
	return map[string]any{
		"input_tokens":                u.Input - u.CacheRead - u.CacheWrite,
		"cache_read_input_tokens":     u.CacheRead,
		"cache_creation_input_tokens": u.CacheWrite,
		"output_tokens":               output,
	}
}

func toolUses(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"type": "tool_use", "id": "toolu_" + string(rune('a'+i)), "name": "run_tests", "input": map[string]any{}}
	}
	return out
}

func streamMessages(w http.ResponseWriter, reply Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	start := message(reply, []any{})
	start["usage"] = anthropicUsage(reply.Usage, 1)
	sse(w, "message_start", map[string]any{"type": "message_start", "message": start})
	sse(w, "content_block_start", map[string]any{"type": "content_block_start", "index": 0,
		"content_block": map[string]any{"type": "text", "text": ""}})
	sse(w, "ping", map[string]any{"type": "ping"})
	for i, word := range words(reply.Text) {
		if i > 0 {
			time.Sleep(reply.ChunkDelay)
		}
		if reply.CutAfter > 0 && i == reply.CutAfter {
			cut()
		}
		sse(w, "content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": word}})
	}
	sse(w, "content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	for i, tu := range toolUses(reply.ToolCalls) {
		sse(w, "content_block_start", map[string]any{"type": "content_block_start", "index": i + 1, "content_block": tu})
		sse(w, "content_block_stop", map[string]any{"type": "content_block_stop", "index": i + 1})
	}
	sse(w, "message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": reply.Usage.Output}})
	sse(w, "message_stop", map[string]any{"type": "message_stop"})
}
