package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/agentorchestrator/observability/internal/fakellm"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

const testKey = "sk-test-secret-0123456789"

func TestSDKConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  SDKConfig
		want string
	}{
		{SDKConfig{BaseURL: "https://x", APIKey: testKey}, "Name is empty"},
		{SDKConfig{Name: "openai", BaseURL: "https://x", APIKey: "  "}, "API key is empty"},
		{SDKConfig{Name: "openai", BaseURL: "https://x", APIKey: "sk\nx"}, "control characters"},
		{SDKConfig{Name: "openai", BaseURL: "ftp://x", APIKey: testKey}, "not an absolute http or https URL"},
		{SDKConfig{Name: "openai", BaseURL: "/v1", APIKey: testKey}, "not an absolute http or https URL"},
	} {
		for kind, build := range map[string]func(SDKConfig) error{
			"openai":    func(c SDKConfig) error { _, err := NewOpenAI(c); return err },
			"anthropic": func(c SDKConfig) error { _, err := NewAnthropic(c); return err },
		} {
			err := build(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), testKey) {
				t.Errorf("%s %v: err = %v, want %q and no key", kind, tt.cfg, err, tt.want)
			}
		}
	}
	cfg := SDKConfig{Name: "openai", BaseURL: "https://x", APIKey: testKey}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, testKey) {
			t.Errorf("formatted config shows the key: %s", s)
		}
	}
}

// TestSDKProviderErrors: errors come back classified, a 429 as a
// *RateLimitError with the wait its headers ask, and without the key even
// when the API's error body quotes it.
func TestSDKProviderErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fake  func(testing.TB) *fakellm.Server
		build func(SDKConfig) (Provider, error)
		base  string
	}{
		{"openai", fakellm.OpenAI, func(c SDKConfig) (Provider, error) { return NewOpenAI(c) }, "/v1"},
		{"anthropic", fakellm.Anthropic, func(c SDKConfig) (Provider, error) { return NewAnthropic(c) }, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := tt.fake(t)
			p, err := tt.build(SDKConfig{Name: tt.name, BaseURL: fake.URL + tt.base, APIKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			fake.Script(fakellm.Reply{Status: 429, Header: map[string]string{"retry-after": "7"}},
				fakellm.Reply{Status: 503}, fakellm.Reply{Status: 401})
			_, err = p.Complete(context.Background(), Request{Model: "m", Prompt: "p"})
			var rl *RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter.Seconds() != 7 || llmmetrics.Classify(err) != llmmetrics.ErrorRateLimited {
				t.Errorf("429: %v (%T)", err, err)
			}
			for _, want := range []llmmetrics.ErrorType{llmmetrics.ErrorServer, llmmetrics.ErrorAuth} {
				_, err = p.Complete(context.Background(), Request{Model: "m", Prompt: "p"})
				if got := llmmetrics.Classify(err); got != want {
					t.Errorf("Classify(%v) = %s, want %s", err, got, want)
				}
			}
			if n := len(fake.Requests()); n != 3 {
				t.Errorf("%d requests for three calls: the SDK retried", n)
			}
			if h := fake.Requests()[0].Header; h.Get("Authorization") != "Bearer "+testKey && h.Get("X-Api-Key") != testKey {
				t.Errorf("the key was not sent: %v", h)
			}
			red := callError(tt.name, testKey, errors.New("invalid key "+testKey), llmmetrics.ErrorAuth, &http.Response{})
			if strings.Contains(red.Error(), testKey) || llmmetrics.Classify(red) != llmmetrics.ErrorAuth {
				t.Errorf("callError = %v", red)
			}
		})
	}
}
