// Package anthropicmetrics instruments the official Anthropic Go SDK
// (github.com/anthropics/anthropic-sdk-go/v2) with llmmetrics, with one
// client option:
//
//	m, err := llmmetrics.New() // after otelobs.Setup
//	client := anthropic.NewClient(option.WithAPIKey(key), anthropicmetrics.Option(m))
//
// Every Messages API call made through the client, streamed or not, then
// records what llmmetrics records: requests, tokens by type, cost, duration,
// errors, rate limits (the anthropic-ratelimit-* headers), tool calls, time
// to first chunk and per chunk, with exemplars that lead to the call's span.
//
// The SDK traces its own calls (a client span named after the method, such
// as anthropic.messages.create, through the registered TracerProvider). When
// it does, the option records the call on that span, adding the usage and
// the cost to it as they become known (the SDK ends its span when a stream
// is closed, before the option hears of it), instead of starting a second
// one; when the SDK's spans are
// off (ANTHROPIC_OPEN_TELEMETRY=false, option.WithoutOpenTelemetry) it
// starts its own GenAI span, "chat {model}".
//
// Do not also record these calls by hand (llmmetrics' StartCall): they
// would be counted twice. Give the option before options that read
// response bodies (option.WithDebugLog) or rewrite requests (the Bedrock
// and Vertex AI clients' options, with WithProvider("bedrock") or
// "vertex_ai"): it reads the request the SDK built and the bodies as the
// SDK reads them.
//
// # Usage fields
//
// Anthropic's input_tokens counts only the input that was neither read from
// nor written to the prompt cache, so the input is the sum of three fields:
//
//	llmmetrics.Usage         Messages API usage
//	InputTokens              input_tokens + cache_read_input_tokens + cache_creation_input_tokens
//	CachedInputTokens        cache_read_input_tokens
//	CacheWriteInputTokens    cache_creation_input_tokens
//	OutputTokens             output_tokens (thinking included)
//
// Cache writes are priced at the table's cache_write price (the 5-minute
// cache's 1.25 × input for Anthropic's models); the 1-hour cache costs 2 ×
// input and is priced as a 5-minute write. A stream's usage is that of its
// message_start event, with output_tokens (and any input counts) of its last
// message_delta.
//
// # Retries
//
// As with openaimetrics: a 429, 5xx or 529 (overloaded) response that the
// SDK retries continues its call, counted once, with one rate-limit event per
// 429; a connection error ends its call.
package anthropicmetrics

import (
	"errors"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/internal/wire"
)

// SDKScope is the instrumentation scope of the SDK's own spans (the clients
// of Bedrock and Vertex AI add their platform's name to it).
const SDKScope = "com.anthropic.sdk.go"

// Setting configures Option.
type Setting interface{ apply(*settings) }

type settings struct{ provider string }

type settingFunc func(*settings)

func (f settingFunc) apply(s *settings) { f(s) }

// WithProvider sets the provider label; the default is anthropic. A client
// of Claude through Bedrock or Vertex AI sets bedrock or vertex_ai.
func WithProvider(name string) Setting {
	return settingFunc(func(s *settings) {
		if strings.TrimSpace(name) != "" {
			s.provider = name
		}
	})
}

// Option returns the client option that records every Messages API call on
// m. A nil m records nothing.
func Option(m *llmmetrics.Metrics, opts ...Setting) option.RequestOption {
	s := settings{provider: "anthropic"}
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	if m == nil {
		return option.WithMiddleware(wire.Pass)
	}
	w := wire.New(m, s.provider, dialect{})
	w.OwnSpan = isSDKSpan
	return option.WithMiddleware(w.Handle)
}

// isSDKSpan reports whether span is a recording span of the SDK's own.
func isSDKSpan(span trace.Span) bool {
	s, ok := span.(interface{ InstrumentationScope() instrumentation.Scope })
	return ok && span.IsRecording() && strings.HasPrefix(s.InstrumentationScope().Name, SDKScope)
}

// Usage maps the usage of a message to llmmetrics.Usage, as the option does
// (see the table above), for code that records calls itself.
func Usage(u anthropic.Usage) llmmetrics.Usage {
	return llmmetrics.Usage{InputTokens: u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens,
		OutputTokens: u.OutputTokens, CachedInputTokens: u.CacheReadInputTokens, CacheWriteInputTokens: u.CacheCreationInputTokens}
}

// Classify returns the llmmetrics error type of an error the SDK returned:
// its *anthropic.Error's HTTP status (529, overloaded, is server_error),
// else llmmetrics.Classify (timeouts, cancellation, connection errors).
func Classify(err error) llmmetrics.ErrorType {
	var apiErr *anthropic.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode != 0 {
		return llmmetrics.HTTPErrorType(apiErr.StatusCode)
	}
	return llmmetrics.Classify(err)
}
