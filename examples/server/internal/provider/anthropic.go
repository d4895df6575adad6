package provider

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics/anthropicmetrics"
)

// Anthropic is a provider on Anthropic's Messages API, called through the
// official anthropic-sdk-go SDK with anthropicmetrics' option. Like OpenAI
// it makes one attempt per Complete.
type Anthropic struct {
	name, key string
	client    anthropic.Client
}

// NewAnthropic returns the provider; the configuration is checked as
// described on SDKConfig.
func NewAnthropic(cfg SDKConfig) (*Anthropic, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	opts := []option.RequestOption{option.WithBaseURL(cfg.BaseURL), option.WithAPIKey(cfg.APIKey),
		option.WithMaxRetries(0), option.WithRequestTimeout(requestTimeout),
		anthropicmetrics.Option(cfg.LLM, anthropicmetrics.WithProvider(cfg.Name))}
	if cfg.HTTPClient != nil {
		// Its transport sends the trace context: the SDK must not too.
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient), option.WithOpenTelemetryPropagation(false))
	}
	if cfg.TracerProvider != nil {
		opts = append(opts, option.WithTracerProvider(cfg.TracerProvider))
	}
	return &Anthropic{name: cfg.Name, key: cfg.APIKey, client: anthropic.NewClient(opts...)}, nil
}

// Name implements Provider.
func (p *Anthropic) Name() string { return p.name }

// Simulated implements Provider.
func (p *Anthropic) Simulated() bool { return false }

// RecordsCalls implements SelfRecording.
func (p *Anthropic) RecordsCalls() bool { return true }

// String names the provider without its key.
func (p *Anthropic) String() string { return "provider.Anthropic(" + p.name + ")" }

// Complete implements Provider: one message.
func (p *Anthropic) Complete(ctx context.Context, req Request) (Response, error) {
	params := anthropic.MessageNewParams{Model: anthropic.Model(req.Model), MaxTokens: int64(req.MaxTokens),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(req.Prompt))}}
	if params.MaxTokens <= 0 {
		params.MaxTokens = defaultMaxTokens
	}
	if req.System != "" {
		params.System = []anthropic.TextBlockParam{{Text: req.System}}
	}
	msg, err := p.client.Messages.New(ctx, params)
	if err != nil {
		var apiErr *anthropic.Error
		var res *http.Response
		if errors.As(err, &apiErr) {
			res = apiErr.Response
		}
		return Response{}, callError(p.name, p.key, err, anthropicmetrics.Classify(err), res)
	}
	var text strings.Builder
	for _, b := range msg.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	if text.Len() == 0 {
		return Response{}, invalid(p.name, "the message has no text")
	}
	model := string(msg.Model)
	if model == "" {
		model = req.Model
	}
	return Response{Text: text.String(), Model: model, Usage: anthropicmetrics.Usage(msg.Usage)}, nil
}
