package provider

import (
	"context"
	"errors"
	"net/http"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics/openaimetrics"
)

// OpenAI is a provider on an OpenAI-compatible chat completions API, called
// through the official openai-go SDK with openaimetrics' option. It makes
// one attempt per Complete (the SDK's own retries are off): retrying is the
// orchestrator's, which then sees and counts every 429.
type OpenAI struct {
	name, key string
	client    openai.Client
}

// NewOpenAI returns the provider; the configuration is checked as described
// on SDKConfig.
func NewOpenAI(cfg SDKConfig) (*OpenAI, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	opts := []option.RequestOption{option.WithBaseURL(cfg.BaseURL), option.WithAPIKey(cfg.APIKey),
		option.WithMaxRetries(0), option.WithRequestTimeout(requestTimeout),
		openaimetrics.Option(cfg.LLM, openaimetrics.WithProvider(cfg.Name))}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	}
	return &OpenAI{name: cfg.Name, key: cfg.APIKey, client: openai.NewClient(opts...)}, nil
}

// Name implements Provider.
func (p *OpenAI) Name() string { return p.name }

// Simulated implements Provider.
func (p *OpenAI) Simulated() bool { return false }

// RecordsCalls implements SelfRecording.
func (p *OpenAI) RecordsCalls() bool { return true }

// String names the provider without its key.
func (p *OpenAI) String() string { return "provider.OpenAI(" + p.name + ")" }

// Complete implements Provider: one chat completion.
func (p *OpenAI) Complete(ctx context.Context, req Request) (Response, error) {
	params := openai.ChatCompletionNewParams{Model: req.Model}
	if req.System != "" {
		params.Messages = append(params.Messages, openai.SystemMessage(req.System))
	}
	params.Messages = append(params.Messages, openai.UserMessage(req.Prompt))
	if req.MaxTokens > 0 {
		params.MaxTokens = openai.Int(int64(req.MaxTokens))
	}
	resp, err := p.client.Chat.Completions.New(ctx, params)
	if err != nil {
		var apiErr *openai.Error
		var res *http.Response
		if errors.As(err, &apiErr) {
			res = apiErr.Response
		}
		return Response{}, callError(p.name, p.key, err, openaimetrics.Classify(err), res)
	}
	if len(resp.Choices) == 0 {
		return Response{}, invalid(p.name, "the response has no choices")
	}
	model := resp.Model
	if model == "" {
		model = req.Model
	}
	return Response{Text: resp.Choices[0].Message.Content, Model: model, Usage: openaimetrics.Usage(resp.Usage)}, nil
}
