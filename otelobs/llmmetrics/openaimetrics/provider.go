package openaimetrics

import (
	"net"
	"strings"
	"sync"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/internal/wire"
)

// OpenAICompatible is the provider of an endpoint whose host ProviderFromHost
// does not know, such as a company's own gateway. It is priced as a gateway
// (llmmetrics.IsGateway): its models by their names alone.
const OpenAICompatible = "openai_compatible"

// hosts maps API hosts, and the suffixes after a dot, to providers.
var hosts = map[string]string{
	"api.openai.com": "openai", "openai.azure.com": "azure", "services.ai.azure.com": "azure",
	"api.anthropic.com": "anthropic", "generativelanguage.googleapis.com": "gemini",
	"aiplatform.googleapis.com": "vertex_ai", "api.mistral.ai": "mistral", "api.deepseek.com": "deepseek",
	"api.groq.com": "groq", "api.x.ai": "xai", "openrouter.ai": "openrouter", "api.together.xyz": "together",
	"api.fireworks.ai": "fireworks", "api.perplexity.ai": "perplexity", "api.cohere.com": "cohere",
}

// ProviderFromHost names the provider of an API host (with or without a
// port): api.openai.com is openai, *.openai.azure.com azure, openrouter.ai
// openrouter, and so on; port 11434 (Ollama's) is ollama; any other host is
// OpenAICompatible.
func ProviderFromHost(host string) string {
	host = strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil {
		if port == "11434" {
			return "ollama"
		}
		host = h
	}
	for h := host; h != ""; {
		if p, ok := hosts[h]; ok {
			return p
		}
		_, rest, found := strings.Cut(h, ".")
		if !found {
			break
		}
		h = rest
	}
	return OpenAICompatible
}

// hostMiddlewares keeps one middleware per provider, found by host: the
// providers are bounded by the hosts table (and OpenAICompatible), so is
// the map. Finding a host's provider is a few string operations a call.
type hostMiddlewares struct {
	m *llmmetrics.Metrics
	d wire.Dialect

	mu         sync.RWMutex
	byProvider map[string]*wire.Middleware
}

func newHostMiddlewares(m *llmmetrics.Metrics, d wire.Dialect) *hostMiddlewares {
	return &hostMiddlewares{m: m, d: d, byProvider: map[string]*wire.Middleware{}}
}

func (h *hostMiddlewares) get(host string) *wire.Middleware {
	p := ProviderFromHost(host)
	h.mu.RLock()
	w := h.byProvider[p]
	h.mu.RUnlock()
	if w != nil {
		return w
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if w = h.byProvider[p]; w == nil {
		w = wire.New(h.m, p, h.d)
		h.byProvider[p] = w
	}
	return w
}
