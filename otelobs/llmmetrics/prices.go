package llmmetrics

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// PricesFileEnv names the environment variable holding the path of a price
// file that overrides and extends the embedded table.
const PricesFileEnv = "OTELOBS_LLM_PRICES_FILE"

//go:embed prices.tsv
var embeddedPrices string

// PricesVersion is the version of the embedded price table.
const PricesVersion = "2025-11-02"

// Price is what a model costs, in US dollars per million tokens of each
// type. Reasoning tokens are output tokens and cost Output.
type Price struct {
	// Input is the price of prompt tokens neither read from nor written to
	// a prompt cache.
	Input float64
	// Output is the price of completion tokens, reasoning included.
	Output float64
	// CachedInput is the price of prompt tokens read from a prompt cache.
	CachedInput float64
	// CacheWrite is the price of prompt tokens written to a prompt cache
	// (Anthropic's cache_creation_input_tokens).
	CacheWrite float64
}

// Cost returns the dollars a call with usage costs at this price. Cache
// reads and cache writes are the parts of InputTokens so marked; the rest of
// the input is priced as Input.
func (p Price) Cost(u Usage) float64 {
	u = u.clamp()
	plain := u.InputTokens - u.CachedInputTokens - u.CacheWriteInputTokens
	return (float64(plain)*p.Input +
		float64(u.CachedInputTokens)*p.CachedInput +
		float64(u.CacheWriteInputTokens)*p.CacheWrite +
		float64(u.OutputTokens)*p.Output) / 1e6
}

// Prices is a price table keyed by provider and model. The zero value is an
// empty table. A Prices is read-only once built, and safe for concurrent use.
type Prices struct {
	byModel map[priceKey]Price
	// modelOnly prices a model by its name alone, for gateways; a name
	// that two providers list at different prices is absent.
	modelOnly map[string]Price
}

type priceKey struct{ provider, model string }

// DefaultPrices returns the embedded table (PricesVersion) for common
// OpenAI, Anthropic, Google, Mistral, DeepSeek, Meta/Groq, xAI and Cohere
// models, plus the simulated provider of the example server.
func DefaultPrices() *Prices {
	p, err := ParsePrices(strings.NewReader(embeddedPrices), "prices.tsv")
	if err != nil {
		panic("llmmetrics: embedded price table: " + err.Error()) // covered by tests; cannot happen at run time
	}
	return p
}

// LoadPrices returns the embedded table overridden and extended by the file
// named in OTELOBS_LLM_PRICES_FILE, if that variable is set.
func LoadPrices() (*Prices, error) {
	p := DefaultPrices()
	path := strings.TrimSpace(os.Getenv(PricesFileEnv))
	if path == "" {
		return p, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return p, fmt.Errorf("llmmetrics: %s=%q: %w", PricesFileEnv, path, err)
	}
	defer f.Close()
	extra, err := ParsePrices(f, path)
	if err != nil {
		return p, fmt.Errorf("llmmetrics: %s: %w", PricesFileEnv, err)
	}
	return p.Merge(extra), nil
}

// ParsePrices reads a price table: one model a line, tab- or
// space-separated "provider model input output [cached_input [cache_write]]"
// in USD per million tokens (a missing cached_input or cache_write is the
// input price); blank lines and lines starting with # are ignored. Provider
// and model names are normalised as metric labels are, provider aliases
// included (a line for gemini prices google's model). An error names the
// source and the line.
func ParsePrices(r io.Reader, source string) (*Prices, error) {
	p := &Prices{byModel: map[priceKey]Price{}}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 4 || len(fields) > 6 {
			return nil, fmt.Errorf("%s:%d: want 4 to 6 fields (provider model input output [cached_input [cache_write]]), got %d",
				source, line, len(fields))
		}
		provider, model := normalizeProvider(fields[0]), normalizeName(fields[1])
		if provider == "" || model == "" {
			return nil, fmt.Errorf("%s:%d: provider %q or model %q has no usable characters", source, line, fields[0], fields[1])
		}
		var nums [4]float64
		for i, f := range fields[2:] {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("%s:%d: %s %q is not a non-negative number of dollars per million tokens",
					source, line, [...]string{"input", "output", "cached_input", "cache_write"}[i], f)
			}
			nums[i] = v
		}
		for i := len(fields) - 2; i < len(nums); i++ {
			nums[i] = nums[0] // no cache discount or surcharge known
		}
		k := priceKey{provider, model}
		if _, dup := p.byModel[k]; dup {
			return nil, fmt.Errorf("%s:%d: %s %s is listed twice", source, line, provider, model)
		}
		p.byModel[k] = Price{Input: nums[0], Output: nums[1], CachedInput: nums[2], CacheWrite: nums[3]}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", source, line+1, err)
	}
	p.index()
	return p, nil
}

// index builds modelOnly from byModel.
func (p *Prices) index() {
	p.modelOnly = make(map[string]Price, len(p.byModel))
	ambiguous := map[string]bool{}
	for k, v := range p.byModel {
		if old, seen := p.modelOnly[k.model]; seen && old != v {
			ambiguous[k.model] = true
		}
		p.modelOnly[k.model] = v
	}
	for m := range ambiguous {
		delete(p.modelOnly, m)
	}
}

// Merge returns a table with p's entries overridden and extended by o's.
func (p *Prices) Merge(o *Prices) *Prices {
	out := &Prices{byModel: make(map[priceKey]Price, p.Len()+o.Len())}
	for _, t := range []*Prices{p, o} {
		if t != nil {
			for k, v := range t.byModel {
				out.byModel[k] = v
			}
		}
	}
	out.index()
	return out
}

// Len returns the number of models in the table.
func (p *Prices) Len() int {
	if p == nil {
		return 0
	}
	return len(p.byModel)
}

// datedSuffix matches the snapshot suffixes providers append to a model
// family's name: -2024-08-06, -20250514, -0613, -002, @20240620, -latest.
var datedSuffix = regexp.MustCompile(`[-@](\d{4}-\d{2}-\d{2}|\d{8}|\d{3,4}|latest)$`)

// gatewayProviders serve other vendors' models under the vendors' names, so
// their models may be priced by name alone.
var gatewayProviders = map[string]bool{
	"openrouter": true, "litellm": true, "portkey": true, "helicone": true, "together": true,
	"fireworks": true, "cloudflare": true, "vercel": true, "requesty": true,
}

// IsGateway reports whether a provider is priced as a gateway: one of the
// known gateways (openrouter, litellm, portkey, helicone, together,
// fireworks, cloudflare, vercel, requesty), or a provider the label list does
// not know (a company's own proxy, for example).
func IsGateway(provider string) bool {
	p := normalizeProvider(provider)
	_, known := providerAliases[p]
	return gatewayProviders[p] || !known
}

// Lookup returns the price of a model, trying in turn:
//
//  1. the provider and model, normalised as labels are (provider aliases
//     folded);
//  2. the model without its dated snapshot suffix (claude-sonnet-4-5-20250929
//     is priced as claude-sonnet-4-5, gpt-4-0613 as gpt-4); snapshots priced
//     differently from their family (gpt-4o-2024-05-13) are listed on their
//     own, and the exact match wins;
//  3. a "vendor/model" id (openai/gpt-4o, anthropic/claude-sonnet-4-5, as
//     gateways name them) as that vendor's model, with steps 1 and 2;
//  4. for a gateway provider (IsGateway), the model by its name alone,
//     when every provider that lists it agrees on its price.
//
// There is no fuzzier matching: a model priced by a wrong guess would be a
// silent error, while an unpriced one is counted and logged. A gateway's own
// markup is not modelled: give it a line of its own in a price file. ok is
// false when nothing matches.
func (p *Prices) Lookup(provider, model string) (price Price, ok bool) {
	if p == nil {
		return Price{}, false
	}
	provider, model = normalizeProvider(provider), normalizeName(model)
	if price, ok = p.exact(provider, model); ok {
		return price, true
	}
	if vendor, name, found := strings.Cut(model, "/"); found && vendor != "" && name != "" {
		if price, ok = p.exact(normalizeProvider(vendor), name); ok {
			return price, true
		}
		model = name
	}
	if IsGateway(provider) {
		if price, ok = p.modelOnly[model]; ok {
			return price, true
		}
		if base := datedSuffix.ReplaceAllString(model, ""); base != model {
			price, ok = p.modelOnly[base]
		}
	}
	return price, ok
}

// exact is steps 1 and 2 of Lookup, on normalised names.
func (p *Prices) exact(provider, model string) (Price, bool) {
	if price, ok := p.byModel[priceKey{provider, model}]; ok {
		return price, true
	}
	if base := datedSuffix.ReplaceAllString(model, ""); base != model {
		price, ok := p.byModel[priceKey{provider, base}]
		return price, ok
	}
	return Price{}, false
}
