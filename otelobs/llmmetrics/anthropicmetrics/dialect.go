package anthropicmetrics

import (
	"errors"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/internal/wire"
)

// dialect reads the Messages API's wire format with gjson, the JSON reader
// the SDK itself uses.
type dialect struct{}

func (dialect) Request(path string, body []byte) (wire.Info, bool) {
	if !strings.HasSuffix(strings.TrimRight(path, "/"), "/messages") {
		return wire.Info{}, false // count_tokens, batches, models, files
	}
	r := gjson.GetManyBytes(body, "model", "stream")
	return wire.Info{Operation: llmmetrics.OperationChat, Model: r[0].String(), Stream: r[1].Bool()}, true
}

// readUsage reads a usage object into r; fields absent keep their values
// (a message_delta repeats only some).
func readUsage(r *wire.Result, u gjson.Result) {
	if !u.IsObject() {
		return
	}
	r.HasUsage = true
	f := u.Get("@this").Map()
	if v, ok := f["output_tokens"]; ok {
		r.Usage.OutputTokens = v.Int()
	}
	plain, read, write := f["input_tokens"], f["cache_read_input_tokens"], f["cache_creation_input_tokens"]
	if plain.Exists() || read.Exists() || write.Exists() {
		r.Usage.CachedInputTokens, r.Usage.CacheWriteInputTokens = read.Int(), write.Int()
		r.Usage.InputTokens = plain.Int() + read.Int() + write.Int()
	}
}

func (dialect) Response(body []byte) wire.Result {
	var r wire.Result
	v := gjson.ParseBytes(body)
	r.Model = v.Get("model").String()
	readUsage(&r, v.Get("usage"))
	v.Get("content").ForEach(func(_, c gjson.Result) bool {
		if c.Get("type").String() == "tool_use" {
			r.ToolCalls++
		}
		return true
	})
	return r
}

func (dialect) Event(r *wire.Result, event, data []byte, _ bool) (chunk, hide bool) {
	v := gjson.ParseBytes(data)
	switch v.Get("type").String() {
	case "message_start":
		if m := v.Get("message.model").String(); m != "" {
			r.Model = m
		}
		readUsage(r, v.Get("message.usage"))
	case "content_block_start":
		if v.Get("content_block.type").String() == "tool_use" {
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
		if v.Get("error.type").String() == "rate_limit_error" {
			t = llmmetrics.ErrorRateLimited
		}
		r.Err = llmmetrics.NewError(t, errors.New("stream error event: "+v.Get("error.type").String()))
	}
	return false, false
}
