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
// itself uses, so that reading usage costs one scan of the body and no
// decoding into the SDK's types a second time.
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

func (d dialect) Request(path string, body []byte) (wire.Info, bool) {
	path = strings.TrimRight(path, "/")
	info := wire.Info{}
	found := false
	for _, e := range endpoints {
		if strings.HasSuffix(path, e.suffix) {
			info.Operation, found = e.op, true
			break
		}
	}
	if !found {
		return info, false
	}
	r := gjson.GetManyBytes(body, "model", "stream", "stream_options.include_usage")
	info.Model, info.Stream = r[0].String(), r[1].Bool()
	if info.Stream && d.streamUsage && !r[2].Bool() && info.Operation != llmmetrics.OperationEmbeddings && !strings.HasSuffix(path, "/responses") {
		if nb, err := sjson.SetBytes(body, "stream_options.include_usage", true); err == nil {
			info.Body, info.HideUsage = nb, true
		}
	}
	return info, true
}

// usagePaths are read from a response or a chunk, in this order.
var usagePaths = []string{
	"model", "usage",
	"usage.prompt_tokens", "usage.completion_tokens",
	"usage.prompt_tokens_details.cached_tokens", "usage.prompt_cache_hit_tokens",
	"usage.completion_tokens_details.reasoning_tokens",
	"usage.input_tokens", "usage.output_tokens",
	"usage.input_tokens_details.cached_tokens", "usage.output_tokens_details.reasoning_tokens",
}

// readUsage reads the model and the usage of a response (or of the
// response object inside a Responses API event).
func readUsage(r *wire.Result, v gjson.Result) {
	f := make([]gjson.Result, len(usagePaths))
	for i, p := range usagePaths {
		f[i] = v.Get(p)
	}
	if m := f[0].String(); m != "" {
		r.Model = m
	}
	if !f[1].IsObject() {
		return
	}
	r.HasUsage = true
	if f[7].Exists() { // Responses API
		r.Usage = llmmetrics.Usage{InputTokens: f[7].Int(), OutputTokens: f[8].Int(), CachedInputTokens: f[9].Int(), ReasoningTokens: f[10].Int()}
		return
	}
	cached := f[4].Int()
	if !f[4].Exists() {
		cached = f[5].Int()
	}
	r.Usage = llmmetrics.Usage{InputTokens: f[2].Int(), OutputTokens: f[3].Int(), CachedInputTokens: cached, ReasoningTokens: f[6].Int()}
}

func (dialect) Response(body []byte) wire.Result {
	var r wire.Result
	v := gjson.ParseBytes(body)
	readUsage(&r, v)
	v.Get("choices").ForEach(func(_, c gjson.Result) bool {
		r.ToolCalls += int(c.Get("message.tool_calls.#").Int())
		return true
	})
	v.Get("output").ForEach(func(_, o gjson.Result) bool {
		if o.Get("type").String() == "function_call" {
			r.ToolCalls++
		}
		return true
	})
	return r
}

var done = []byte("[DONE]")

func (dialect) Event(r *wire.Result, event, data []byte, hideUsage bool) (chunk, hide bool) {
	if bytes.Equal(bytes.TrimSpace(data), done) {
		r.Done = true
		return false, false
	}
	if len(event) > 0 || bytes.HasPrefix(data, []byte(`{"type":"response.`)) {
		return responsesEvent(r, data)
	}
	v := gjson.ParseBytes(data)
	choices := v.Get("choices")
	if u := v.Get("usage"); u.IsObject() {
		readUsage(r, v)
		if hideUsage && len(choices.Array()) == 0 {
			return false, true
		}
	} else if m := v.Get("model").String(); m != "" {
		r.Model = m
	}
	choices.ForEach(func(_, c gjson.Result) bool {
		d := c.Get("delta")
		if d.Get("content").String() != "" || d.Get("refusal").String() != "" ||
			d.Get("reasoning_content").String() != "" || c.Get("text").String() != "" {
			chunk = true
		}
		d.Get("tool_calls").ForEach(func(_, t gjson.Result) bool {
			chunk = true
			if t.Get("id").String() != "" {
				r.ToolCalls++
			}
			return true
		})
		return true
	})
	return chunk, false
}

// responsesEvent reads a Responses API stream event.
func responsesEvent(r *wire.Result, data []byte) (chunk, hide bool) {
	v := gjson.ParseBytes(data)
	switch t := v.Get("type").String(); {
	case strings.HasSuffix(t, ".delta"):
		return true, false
	case t == "response.output_item.added":
		if v.Get("item.type").String() == "function_call" {
			r.ToolCalls++
		}
	case t == "response.completed", t == "response.incomplete", t == "response.failed":
		readUsage(r, v.Get("response"))
		r.Done = t == "response.completed" || t == "response.incomplete"
	case t == "response.created":
		if m := v.Get("response.model").String(); m != "" {
			r.Model = m
		}
	}
	return false, false
}
