package fakellm

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// OpenAI starts a fake of the OpenAI API: POST /v1/chat/completions (JSON,
// or a server-sent-event stream when the request says "stream": true, with
// a usage chunk when stream_options.include_usage asks for it), and POST
// /v1/embeddings. An error status answers OpenAI's error body. Point the
// SDK's base URL at URL + "/v1".
func OpenAI(tb testing.TB) *Server {
	return newServer(tb, serveOpenAI)
}

func serveOpenAI(w http.ResponseWriter, r *http.Request, body map[string]any, reply Reply) {
	if reply.Status >= 400 {
		writeJSON(w, reply.Status, map[string]any{"error": map[string]any{
			"message": http.StatusText(reply.Status), "type": "fake_error", "code": nil, "param": nil}})
		return
	}
	time.Sleep(reply.FirstChunkDelay)
	switch {
	case strings.HasSuffix(r.URL.Path, "/embeddings"):
		writeJSON(w, http.StatusOK, map[string]any{
			"object": "list", "model": reply.Model,
			"data":  []any{map[string]any{"object": "embedding", "index": 0, "embedding": []float64{0.1, -0.2, 0.3}}},
			"usage": map[string]any{"prompt_tokens": reply.Usage.Input, "total_tokens": reply.Usage.Input},
		})
	case strings.HasSuffix(r.URL.Path, "/chat/completions"):
		if stream, _ := body["stream"].(bool); stream {
			streamChat(w, body, reply)
			return
		}
		msg := map[string]any{"role": "assistant", "content": reply.Text}
		if reply.ToolCalls > 0 {
			msg["tool_calls"] = toolCalls(reply.ToolCalls, false)
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": reply.Model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": "stop", "logprobs": nil}},
			"usage":   openAIUsage(reply.Usage),
		})
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"message": "no such path", "type": "fake_error"}})
	}
}

func openAIUsage(u Usage) map[string]any {
	return map[string]any{
		"prompt_tokens": u.Input, "completion_tokens": u.Output, "total_tokens": u.Input + u.Output,
		"prompt_tokens_details":     map[string]any{"cached_tokens": u.CacheRead},
		"completion_tokens_details": map[string]any{"reasoning_tokens": u.Reasoning},
	}
}

func toolCalls(n int, delta bool) []any {
	out := make([]any, n)
	for i := range out {
		c := map[string]any{"id": fmt.Sprintf("call_%d", i), "type": "function",
			"function": map[string]any{"name": "run_tests", "arguments": "{}"}}
		if delta {
			c["index"] = i
		}
		out[i] = c
	}
	return out
}

func streamChat(w http.ResponseWriter, body map[string]any, reply Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000,
			"model": reply.Model, "choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	sse(w, "", chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	sent := 0
	for i, word := range words(reply.Text) {
		if i > 0 {
			time.Sleep(reply.ChunkDelay)
		}
		if reply.CutAfter > 0 && sent == reply.CutAfter {
			cut()
		}
		sse(w, "", chunk(map[string]any{"content": word}, nil))
		sent++
	}
	if reply.ToolCalls > 0 {
		sse(w, "", chunk(map[string]any{"tool_calls": toolCalls(reply.ToolCalls, true)}, nil))
	}
	sse(w, "", chunk(map[string]any{}, "stop"))
	if opts, _ := body["stream_options"].(map[string]any); opts["include_usage"] == true {
		sse(w, "", map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000,
			"model": reply.Model, "choices": []any{}, "usage": openAIUsage(reply.Usage)})
	}
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	w.(http.Flusher).Flush()
}
