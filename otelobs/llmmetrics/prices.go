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
const PricesVersion = "2025-11-01"

// Price is what a model costs, in US dollars per million tokens.
type Price struct {
	Input       float64
	Output      float64
	CachedInput float64
}

// Cost returns the dollars a call with usage costs at this price. Cached
// input tokens are the part of InputTokens read from a prompt cache.
func (p Price) Cost(u Usage) float64 {
	cached := min(u.CachedInputTokens, u.InputTokens)
	return (float64(u.InputTokens-cached)*p.Input +
		float64(cached)*p.CachedInput +
		float64(u.OutputTokens)*p.Output) / 1e6
}

// Prices is a price table keyed by provider and model. The zero value is an
// empty table. A Prices is read-only once built, and safe for concurrent use.
type Prices struct {
	byModel map[priceKey]Price
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
// space-separated "provider model input output [cached_input]" in USD per
// million tokens; blank lines and lines starting with # are ignored. Provider
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
		if len(fields) != 4 && len(fields) != 5 {
			return nil, fmt.Errorf("%s:%d: want 4 or 5 fields (provider model input output [cached_input]), got %d",
				source, line, len(fields))
		}
		provider, model := normalizeProvider(fields[0]), normalizeName(fields[1])
		if provider == "" || model == "" {
			return nil, fmt.Errorf("%s:%d: provider %q or model %q has no usable characters", source, line, fields[0], fields[1])
		}
		var nums [3]float64
		for i, f := range fields[2:] {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("%s:%d: %s %q is not a non-negative number of dollars per million tokens",
					source, line, [...]string{"input", "output", "cached_input"}[i], f)
			}
			nums[i] = v
		}
		if len(fields) == 4 {
			nums[2] = nums[0] // no cache discount known
		}
		k := priceKey{provider, model}
		if _, dup := p.byModel[k]; dup {
			return nil, fmt.Errorf("%s:%d: %s %s is listed twice", source, line, provider, model)
		}
		p.byModel[k] = Price{Input: nums[0], Output: nums[1], CachedInput: nums[2]}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", source, line+1, err)
	}
	return p, nil
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

// Lookup returns the price of a model: an exact match of the normalised
// names (provider aliases folded, as for labels), else the model with its
// dated snapshot suffix removed (claude-sonnet-4-5-20250929 is priced as
// claude-sonnet-4-5, gpt-4-0613 as gpt-4). Snapshots priced differently from
// their family (gpt-4o-2024-05-13, gpt-3.5-turbo-0613) are listed on their
// own, and the exact match wins. There is no fuzzier matching: a
// model priced by a wrong guess would be a silent error, while an unpriced
// one is counted and logged. ok is false when nothing matches.
func (p *Prices) Lookup(provider, model string) (price Price, ok bool) {
	if p == nil {
		return Price{}, false
	}
	provider, model = normalizeProvider(provider), normalizeName(model)
	if price, ok = p.byModel[priceKey{provider, model}]; ok {
		return price, true
	}
	if base := datedSuffix.ReplaceAllString(model, ""); base != model {
		price, ok = p.byModel[priceKey{provider, base}]
	}
	return price, ok
}
