package anthropicmetrics

import (
	"bytes"
	"errors"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/internal/wire"
)

// dialect reads the Messages API's wire format with gjson, the JSON reader
// the SDK itself uses: one pass over a message's top-level keys, and for a
// stream's deltas (most of its events) a byte scan of their type only.
type dialect struct{}

// Accepts takes the Messages API only: count_tokens, batches, models and
// files pass through.
func (dialect) Accepts(path string) bool {
	return strings.HasSuffix(strings.TrimRight(path, "/"), "/messages")
}

func (d dialect) Request(path string, body string) (wire.Info, bool) {
	if !d.Accepts(path) {
		return wire.Info{}, false
	}
	info := wire.Info{Operation: llmmetrics.OperationChat}
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			info.Model = v.Str
		case "stream":
			info.Stream = v.Bool()
		}
		return true
	})
	return info, true
}

// readUsage reads a usage object into r. A field that is absent or null
// keeps its value (a message_delta repeats only some, and the SDK's own
// accumulator does the same); the input is the sum of three fields: see the
// package documentation.
func readUsage(r *wire.Result, u gjson.Result) {
	if !u.IsObject() {
		return
	}
	r.HasUsage = true
	x := &r.Usage
	plain := x.InputTokens - x.CachedInputTokens - x.CacheWriteInputTokens
	u.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		switch k.Str {
		case "output_tokens":
			x.OutputTokens = v.Int()
		case "input_tokens":
			plain = v.Int()
		case "cache_read_input_tokens":
			x.CachedInputTokens = v.Int()
		case "cache_creation_input_tokens":
			x.CacheWriteInputTokens = v.Int()
		}
		return true
	})
	x.InputTokens = plain + x.CachedInputTokens + x.CacheWriteInputTokens
}

func (dialect) Response(_ wire.Info, body string) wire.Result {
	var r wire.Result
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			r.Model = v.Str
		case "usage":
			readUsage(&r, v)
		case "content":
			if strings.Contains(v.Raw, `"tool_use"`) {
				v.ForEach(func(_, c gjson.Result) bool {
					if c.Get("type").Str == "tool_use" {
						r.ToolCalls++
					}
					return true
				})
			}
		}
		return true
	})
	return r
}

var deltaType = []byte(`{"type":"content_block_delta"`)

func (dialect) Event(r *wire.Result, event, data []byte, _ bool) (chunk, hide bool) {
	if bytes.HasPrefix(data, deltaType) || string(event) == "content_block_delta" {
		return true, false
	}
	if string(event) == "ping" {
		return false, false
	}
	v := gjson.Parse(string(data))
	switch v.Get("type").Str {
	case "message_start":
		if m := v.Get("message.model").Str; m != "" {
			r.Model = m
		}
		readUsage(r, v.Get("message.usage"))
	case "content_block_start":
		if v.Get("content_block.type").Str == "tool_use" {
			r.ToolCalls++
		}
	case "content_block_delta":
		return true, false
	case "message_delta":
		readUsage(r, v.Get("usage"))
	case "message_stop":
		r.Done = true
	case "error":
		// overloaded_error and api_error are the server's; anything else
		// is still a failed call.
		t := llmmetrics.ErrorServer
		if v.Get("error.type").Str == "rate_limit_error" {
			t = llmmetrics.ErrorRateLimited
		}
		r.Err = llmmetrics.NewError(t, errors.New("the stream reported an error event"))
	}
	return false, false
}
