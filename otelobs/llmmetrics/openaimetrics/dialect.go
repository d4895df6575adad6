package openaimetrics

import (
	"bytes"
	"errors"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/internal/wire"
)

// dialect reads OpenAI's wire format with gjson, the JSON reader the SDK
// itself uses: one pass over a request's or a response's top-level keys,
// and for stream chunks byte scans that parse only the chunks that carry
// usage or tool calls, so that a chunk costs far less than the SDK's own
// decoding of it.
type dialect struct{ streamUsage bool }

// endpoints maps the path suffixes recorded to their operations.
var endpoints = [...]struct {
	suffix string
	op     llmmetrics.Operation
}{
	{"/chat/completions", llmmetrics.OperationChat},
	{"/completions", llmmetrics.OperationTextCompletion},
	{"/embeddings", llmmetrics.OperationEmbeddings},
	{"/responses", llmmetrics.OperationChat},
}

// endpointOf returns the operation and path suffix of a recorded endpoint.
func endpointOf(path string) (llmmetrics.Operation, string, bool) {
	path = strings.TrimRight(path, "/")
	for _, e := range endpoints {
		if strings.HasSuffix(path, e.suffix) {
			return e.op, e.suffix, true
		}
	}
	return "", "", false
}

func (dialect) Accepts(path string) bool {
	_, _, ok := endpointOf(path)
	return ok
}

func (d dialect) Request(path string, body string) (wire.Info, bool) {
	info := wire.Info{}
	var ok bool
	if info.Operation, info.Endpoint, ok = endpointOf(path); !ok {
		return wire.Info{}, false
	}
	askedUsage := false
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			info.Model = v.Str
		case "stream":
			info.Stream = v.Bool()
		case "stream_options":
			askedUsage = v.Get("include_usage").Bool()
		}
		return true
	})
	if info.Stream && d.streamUsage && !askedUsage && info.Operation != llmmetrics.OperationEmbeddings && info.Endpoint != "/responses" {
		if nb, err := sjson.Set(body, "stream_options.include_usage", true); err == nil {
			info.Body, info.HideUsage = nb, true
		}
	}
	return info, true
}

// readUsage reads a usage object: chat completions' and embeddings'
// prompt/completion tokens, or the Responses API's input/output tokens.
func readUsage(r *wire.Result, u gjson.Result) {
	if !u.IsObject() {
		return
	}
	r.HasUsage = true
	var x llmmetrics.Usage
	hit := int64(-1)
	u.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens", "input_tokens":
			x.InputTokens = v.Int()
		case "completion_tokens", "output_tokens":
			x.OutputTokens = v.Int()
		case "prompt_tokens_details", "input_tokens_details":
			x.CachedInputTokens = v.Get("cached_tokens").Int()
		case "completion_tokens_details", "output_tokens_details":
			x.ReasoningTokens = v.Get("reasoning_tokens").Int()
		case "prompt_cache_hit_tokens": // DeepSeek
			hit = v.Int()
		}
		return true
	})
	if x.CachedInputTokens == 0 && hit > 0 {
		x.CachedInputTokens = hit
	}
	r.Usage = x
}

func (dialect) Response(info wire.Info, body string) wire.Result {
	var r wire.Result
	// Top-level look-ups skip the other values without parsing them.
	r.Model = gjson.Get(body, "model").Str
	readUsage(&r, gjson.Get(body, "usage"))
	switch {
	case info.Endpoint == "/chat/completions" && strings.Contains(body, `"tool_calls"`):
		gjson.Get(body, "choices.#.message.tool_calls.#").ForEach(func(_, n gjson.Result) bool {
			r.ToolCalls += int(n.Int())
			return true
		})
	case info.Endpoint == "/responses" && strings.Contains(body, `"function_call"`):
		gjson.Get(body, "output").ForEach(func(_, o gjson.Result) bool {
			if o.Get("type").Str == "function_call" {
				r.ToolCalls++
			}
			return true
		})
	}
	return r
}

var (
	done     = []byte("[DONE]")
	usageKey = []byte(`"usage"`)
	toolsKey = []byte(`"tool_calls"`)
	errorKey = []byte(`"error"`)
	modelKey = []byte(`"model"`)
	// outputKeys are the keys whose non-empty string value is output.
	outputKeys = [][]byte{[]byte(`"content"`), []byte(`"reasoning_content"`), []byte(`"refusal"`), []byte(`"text"`)}
)

// stringValue finds a key followed by a string value in data, JSON spaces
// allowed, and returns the value's raw bytes; with nonEmpty, the first
// occurrence whose value is not "". A key's quotes are never escaped,
// while the same text inside a string value is, so a match is a key.
func stringValue(data, key []byte, nonEmpty bool) ([]byte, bool) {
	for off := 0; off < len(data); {
		i := bytes.Index(data[off:], key)
		if i < 0 {
			return nil, false
		}
		rest := bytes.TrimLeft(data[off+i+len(key):], " \t\r\n")
		off += i + len(key)
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if len(rest) < 2 || rest[0] != '"' {
			continue
		}
		end := 1
		for end < len(rest) && (rest[end] != '"' || rest[end-1] == '\\') {
			end++
		}
		if val := rest[1:end]; !nonEmpty || len(val) > 0 {
			return val, true
		}
	}
	return nil, false
}

func (dialect) Event(r *wire.Result, event, data []byte, hideUsage bool) (chunk, hide bool) {
	if bytes.Equal(bytes.TrimSpace(data), done) {
		r.Done = true
		return false, false
	}
	if len(event) > 0 || bytes.Contains(data[:min(len(data), 40)], []byte(`"response.`)) {
		return responsesEvent(r, data)
	}
	if r.Model == "" {
		if m, ok := stringValue(data, modelKey, true); ok {
			r.Model = string(m)
		}
	}
	// Most chunks carry content, found first: the rarer kinds of output
	// are looked for only in chunks without it.
	for _, k := range outputKeys {
		if _, ok := stringValue(data, k, true); ok {
			chunk = true
			break
		}
	}
	hasTools, hasUsage, hasError := bytes.Contains(data, toolsKey), bytes.Contains(data, usageKey), bytes.Contains(data, errorKey)
	if !hasTools && !hasUsage && !hasError {
		return chunk, false
	}
	v := gjson.Parse(string(data))
	if e := v.Get("error"); e.IsObject() {
		r.Err = streamError(e)
	}
	choices := v.Get("choices")
	if u := v.Get("usage"); u.IsObject() {
		readUsage(r, u)
		if hideUsage && len(choices.Array()) == 0 {
			return false, true
		}
	}
	if hasTools {
		choices.ForEach(func(_, c gjson.Result) bool {
			c.Get("delta.tool_calls").ForEach(func(_, t gjson.Result) bool {
				chunk = true
				if t.Get("id").Str != "" {
					r.ToolCalls++
				}
				return true
			})
			return true
		})
	}
	return chunk, false
}

// streamError is the error an event of a stream reports: rate_limited for
// a rate-limit error, server_error otherwise.
func streamError(e gjson.Result) error {
	t := llmmetrics.ErrorServer
	for _, f := range []string{"type", "code"} {
		if strings.Contains(e.Get(f).String(), "rate_limit") {
			t = llmmetrics.ErrorRateLimited
		}
	}
	return llmmetrics.NewError(t, errors.New("the stream reported an error event"))
}

// responsesEvent reads a Responses API stream event.
func responsesEvent(r *wire.Result, data []byte) (chunk, hide bool) {
	// Deltas are most events: tell them by their type without parsing.
	if t := typeOf(data); bytes.HasSuffix(t, []byte(".delta")) {
		return true, false
	}
	v := gjson.Parse(string(data))
	switch t := v.Get("type").Str; t {
	case "response.output_item.added":
		if v.Get("item.type").Str == "function_call" {
			r.ToolCalls++
		}
	case "response.completed", "response.incomplete", "response.failed":
		resp := v.Get("response")
		if m := resp.Get("model").Str; m != "" {
			r.Model = m
		}
		readUsage(r, resp.Get("usage"))
		r.Done = t != "response.failed"
		if t == "response.failed" {
			r.Err = streamError(resp.Get("error"))
		}
	case "error":
		r.Err = streamError(v)
	case "response.created":
		if m := v.Get("response.model").Str; m != "" {
			r.Model = m
		}
	}
	return false, false
}

// typeOf returns the value of an event's "type" key, or nil.
func typeOf(data []byte) []byte {
	t, _ := stringValue(data, []byte(`"type"`), true)
	return t
}
