package openaimetrics

import (
	"bytes"
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

func (d dialect) Request(path string, body string) (wire.Info, bool) {
	path = strings.TrimRight(path, "/")
	info := wire.Info{}
	found := false
	for _, e := range endpoints {
		if strings.HasSuffix(path, e.suffix) {
			info.Operation, info.Endpoint, found = e.op, e.suffix, true
			break
		}
	}
	if !found {
		return info, false
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
	done       = []byte("[DONE]")
	usageKey   = []byte(`"usage":{`)
	toolsKey   = []byte(`"tool_calls"`)
	modelKey   = []byte(`"model":"`)
	choicesNil = []byte(`"choices":[]`)
	// outputKeys are the keys whose non-empty string value is output.
	outputKeys = [][]byte{[]byte(`"content":"`), []byte(`"reasoning_content":"`), []byte(`"refusal":"`), []byte(`"text":"`)}
)

func (dialect) Event(r *wire.Result, event, data []byte, hideUsage bool) (chunk, hide bool) {
	if bytes.Equal(bytes.TrimSpace(data), done) {
		r.Done = true
		return false, false
	}
	if len(event) > 0 || bytes.HasPrefix(data, []byte(`{"type":"response.`)) {
		return responsesEvent(r, data)
	}
	if r.Model == "" {
		if i := bytes.Index(data, modelKey); i >= 0 {
			rest := data[i+len(modelKey):]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				r.Model = string(rest[:j])
			}
		}
	}
	// Most chunks carry content, found first: the rarer kinds of output
	// are looked for only in chunks without it.
	for _, k := range outputKeys {
		i := bytes.Index(data, k)
		if i >= 0 && i+len(k) < len(data) && data[i+len(k)] != '"' {
			chunk = true
			break
		}
	}
	hasTools := bytes.Contains(data, toolsKey)
	if hasTools || bytes.Contains(data, usageKey) {
		v := gjson.Parse(string(data))
		if u := v.Get("usage"); u.IsObject() {
			readUsage(r, u)
			if hideUsage && bytes.Contains(data, choicesNil) {
				return false, true
			}
		}
		if hasTools {
			v.Get("choices").ForEach(func(_, c gjson.Result) bool {
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
	}
	return chunk, false
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
	case "response.created":
		if m := v.Get("response.model").Str; m != "" {
			r.Model = m
		}
	}
	return false, false
}

// typeOf returns the value of an event's leading "type" key, or nil.
func typeOf(data []byte) []byte {
	const prefix = `{"type":"`
	if !bytes.HasPrefix(data, []byte(prefix)) {
		return nil
	}
	rest := data[len(prefix):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return nil
}
