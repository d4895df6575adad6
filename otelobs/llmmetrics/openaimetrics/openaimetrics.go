// Package openaimetrics instruments the official OpenAI Go SDK
// (github.com/openai/openai-go/v3) with llmmetrics, with one client option:
//
//	m, err := llmmetrics.New() // after otelobs.Setup
//	client := openai.NewClient(option.WithAPIKey(key), openaimetrics.Option(m))
//
// Every chat completion, completion, embedding and Responses API call made
// through the client then records what llmmetrics records (the GenAI client
// span, requests, tokens by type, cost, duration, errors, rate limits, tool
// calls, time to first chunk and per chunk of a stream) with exemplars that
// lead to the call's span. It works for any OpenAI-compatible endpoint the
// client's base URL points at (vLLM, Ollama, LiteLLM, OpenRouter, Azure):
// the provider label comes from WithProvider or else from the base URL's
// host (ProviderFromHost).
//
// Do not also record these calls by hand (llmmetrics' StartCall): they
// would be counted twice. Give the option before options that read
// response bodies (option.WithDebugLog) or rewrite requests (Azure's): it
// reads the request the SDK built and the bodies as the SDK reads them.
//
// # Usage fields
//
//	llmmetrics.Usage       chat completions, completions                 Responses API                          embeddings
//	InputTokens            usage.prompt_tokens                           usage.input_tokens                     usage.prompt_tokens
//	CachedInputTokens      usage.prompt_tokens_details.cached_tokens     usage.input_tokens_details.cached_tokens
//	                       (DeepSeek: usage.prompt_cache_hit_tokens)
//	OutputTokens           usage.completion_tokens                       usage.output_tokens
//	ReasoningTokens        usage.completion_tokens_details.reasoning_tokens  usage.output_tokens_details.reasoning_tokens
//
// OpenAI reports no cache writes. Tool calls are the tool_calls of the
// choices (chat) or the function_call output items (Responses API).
//
// # Streams
//
// A streamed chat completion reports its usage only when asked
// (stream_options.include_usage); the option asks for it when the request
// does not, and then keeps that extra usage-only chunk from the caller, so
// that code iterating over chunks sees the stream it asked for. WithoutStreamUsage
// turns this off for a server that rejects the field. A stream the caller
// closes before its end records the chunks and usage that arrived and
// ends as canceled; one cut short by the server ends as a connection error.
//
// # Retries
//
// The SDK retries 408, 409, 429 and 5xx responses (twice by default). A
// retried response continues its call: one request, one span, one duration
// from the first attempt, and one llm_rate_limit_events_total per 429.
// A connection error that the SDK retries ends its call, and the retry is
// a call of its own, because the SDK does not tell its middleware whether
// it will retry a request that got no response; so does a retry after a
// wait more than two minutes longer than the response asked for (only
// with option.WithMaxRetryDelay raised). A call whose caller gives up
// during the wait ends as canceled (or timeout) when its context does.
package openaimetrics

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/internal/wire"
)

// Setting configures Option.
type Setting interface{ apply(*settings) }

type settings struct {
	provider    string
	streamUsage bool
}

type settingFunc func(*settings)

func (f settingFunc) apply(s *settings) { f(s) }

// WithProvider sets the provider label (openai, azure, openrouter, …)
// instead of deriving it from the base URL.
func WithProvider(name string) Setting {
	return settingFunc(func(s *settings) {
		if strings.TrimSpace(name) != "" {
			s.provider = name
		}
	})
}

// WithoutStreamUsage stops the option from asking streamed chat completions
// for their usage (stream_options.include_usage): their tokens and cost are
// then not recorded unless the request asks itself.
func WithoutStreamUsage() Setting { return settingFunc(func(s *settings) { s.streamUsage = false }) }

// Option returns the client option that records every model call on m. A
// nil m records nothing.
func Option(m *llmmetrics.Metrics, opts ...Setting) option.RequestOption {
	s := settings{streamUsage: true}
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	if m == nil {
		return option.WithMiddleware(wire.Pass)
	}
	var fixed *wire.Middleware
	if s.provider != "" {
		fixed = wire.New(m, s.provider, dialect{streamUsage: s.streamUsage})
	}
	byHost := newHostMiddlewares(m, dialect{streamUsage: s.streamUsage})
	return option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		if fixed != nil {
			return fixed.Handle(r, next)
		}
		return byHost.get(r.URL.Host).Handle(r, next)
	})
}

// Usage maps the usage of a chat completion (or completion) to
// llmmetrics.Usage, as the option does (see the table above), for code that
// records calls itself.
func Usage(u openai.CompletionUsage) llmmetrics.Usage {
	x := llmmetrics.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens,
		CachedInputTokens: u.PromptTokensDetails.CachedTokens, ReasoningTokens: u.CompletionTokensDetails.ReasoningTokens}
	if f, ok := u.JSON.ExtraFields["prompt_cache_hit_tokens"]; ok && x.CachedInputTokens == 0 { // DeepSeek
		x.CachedInputTokens, _ = strconv.ParseInt(f.Raw(), 10, 64)
	}
	return x
}

// Classify returns the llmmetrics error type of an error the SDK returned:
// its *openai.Error's HTTP status, else llmmetrics.Classify (timeouts,
// cancellation, connection errors).
func Classify(err error) llmmetrics.ErrorType {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode != 0 {
		return llmmetrics.HTTPErrorType(apiErr.StatusCode)
	}
	return llmmetrics.Classify(err)
}
