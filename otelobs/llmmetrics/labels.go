package llmmetrics

import (
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// Other is the label value that unknown or excess values fold into, as in the
// semantic conventions' error.type.
const Other = "_OTHER"

// maxNameLen bounds a provider or model label value.
const maxNameLen = 64

// normalizeName lower-cases s, keeps letters, digits and . _ : / -, turns
// any other run of characters into one "-", and cuts it to 64 bytes.
func normalizeName(s string) string {
	s = strings.TrimSpace(s)
	if isNormal(s) {
		return s
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == ':', r == '/', r == '-':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= maxNameLen {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// isNormal reports whether s needs no change, without allocating.
func isNormal(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return s == ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '/' || c == '-') {
			return false
		}
	}
	return s[0] != '-' && s[len(s)-1] != '-'
}

// providerAliases maps what callers write to the provider label value.
var providerAliases = map[string]string{
	"openai": "openai", "azure": "azure", "azure_openai": "azure", "azure.ai.openai": "azure", "azure.ai.inference": "azure",
	"anthropic": "anthropic", "google": "google", "gemini": "google", "gcp.gemini": "google",
	"vertex": "google", "vertex_ai": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google",
	"mistral": "mistral", "mistral_ai": "mistral", "mistralai": "mistral", "groq": "groq",
	"deepseek": "deepseek", "cohere": "cohere", "xai": "xai", "x_ai": "xai", "meta": "meta",
	"bedrock": "bedrock", "aws.bedrock": "bedrock", "ollama": "ollama", "openrouter": "openrouter",
	"together": "together", "fireworks": "fireworks", "perplexity": "perplexity", "simulated": "simulated",
	"watsonx": "watsonx", "ibm.watsonx.ai": "watsonx",
}

// genAIProviders maps a provider as passed in (normalised, before the
// aliases fold it) to gen_ai.provider.name, with the conventions' own values;
// a provider the conventions do not name uses its label, as they ask.
var genAIProviders = map[string]string{
	"openai":             semconv.GenAIProviderNameOpenAI.Value.AsString(),
	"azure":              semconv.GenAIProviderNameAzureAIOpenAI.Value.AsString(),
	"azure_openai":       semconv.GenAIProviderNameAzureAIOpenAI.Value.AsString(),
	"azure.ai.openai":    semconv.GenAIProviderNameAzureAIOpenAI.Value.AsString(),
	"azure.ai.inference": semconv.GenAIProviderNameAzureAIInference.Value.AsString(),
	"anthropic":          semconv.GenAIProviderNameAnthropic.Value.AsString(),
	"google":             semconv.GenAIProviderNameGCPGemini.Value.AsString(),
	"gemini":             semconv.GenAIProviderNameGCPGemini.Value.AsString(),
	"gcp.gemini":         semconv.GenAIProviderNameGCPGemini.Value.AsString(),
	"vertex":             semconv.GenAIProviderNameGCPVertexAI.Value.AsString(),
	"vertex_ai":          semconv.GenAIProviderNameGCPVertexAI.Value.AsString(),
	"gcp.vertex_ai":      semconv.GenAIProviderNameGCPVertexAI.Value.AsString(),
	"gcp.gen_ai":         semconv.GenAIProviderNameGCPGenAI.Value.AsString(),
	"mistral":            semconv.GenAIProviderNameMistralAI.Value.AsString(),
	"mistral_ai":         semconv.GenAIProviderNameMistralAI.Value.AsString(),
	"mistralai":          semconv.GenAIProviderNameMistralAI.Value.AsString(),
	"groq":               semconv.GenAIProviderNameGroq.Value.AsString(),
	"deepseek":           semconv.GenAIProviderNameDeepseek.Value.AsString(),
	"cohere":             semconv.GenAIProviderNameCohere.Value.AsString(),
	"xai":                semconv.GenAIProviderNameXAI.Value.AsString(),
	"x_ai":               semconv.GenAIProviderNameXAI.Value.AsString(),
	"bedrock":            semconv.GenAIProviderNameAWSBedrock.Value.AsString(),
	"aws.bedrock":        semconv.GenAIProviderNameAWSBedrock.Value.AsString(),
	"perplexity":         semconv.GenAIProviderNamePerplexity.Value.AsString(),
	"watsonx":            semconv.GenAIProviderNameIBMWatsonxAI.Value.AsString(),
	"ibm.watsonx.ai":     semconv.GenAIProviderNameIBMWatsonxAI.Value.AsString(),
}

// genAIProviderName is gen_ai.provider.name for a provider as passed in: the
// conventions' value, or else the provider's label value.
func genAIProviderName(provider string) string {
	if g := genAIProviders[normalizeName(provider)]; g != "" {
		return g
	}
	return normalizeProvider(provider)
}

// Metric attribute keys.
const (
	ProviderKey  = attribute.Key("provider")
	ModelKey     = attribute.Key("model")
	TokenTypeKey = attribute.Key("token_type")
	OutcomeKey   = attribute.Key("outcome")
	ErrorTypeKey = attribute.Key("error_type")
)

// labelSet is everything precomputed for one provider and model label pair.
type labelSet struct {
	provider, model string // label values
	genAIProvider   string

	base    instr.Opts                  // provider, model
	byType  [len(tokenTypes)]instr.Opts // + token_type
	outcome [2]instr.Opts               // + outcome success, error
	limits  [2]instr.Opts               // + limit_type requests, tokens

	mu   sync.RWMutex
	lazy map[lazyKey]instr.Opts // error and GenAI attribute sets, built on first use

	// genAI holds the success-path GenAI options per operation, built on
	// first use and read without locking.
	genAI [len(operations)]atomic.Pointer[genAIOpts]
}

// entry is what a provider and model as passed in resolve to: the label set
// (shared by every model folded into _OTHER) and the model's own price.
type entry struct {
	*labelSet
	// realModel is the normalised model, which differs from the label when
	// the series cap folded it into _OTHER.
	realModel string
	price     Price
	priced    bool
	warned    atomic.Bool
	// providerFolded and modelFolded say that a value passed in is
	// recorded as _OTHER because of a bound.
	providerFolded, modelFolded bool
}

// genAIOpts are the GenAI instruments' options and the span name of one
// operation's successful calls.
type genAIOpts struct {
	duration, input, output, usage instr.Opts
	spanName                       string
}

// genAIFor returns the success-path GenAI options of op.
func (e *labelSet) genAIFor(op Operation) *genAIOpts {
	slot := &e.genAI[op.index()]
	if g := slot.Load(); g != nil {
		return g
	}
	g := &genAIOpts{
		duration: instr.NewOpts(e.attrs(lazyKey{kind: lazyGenAIDuration, op: op})...),
		input:    instr.NewOpts(e.attrs(lazyKey{kind: lazyGenAITokens, op: op, a: "input"})...),
		output:   instr.NewOpts(e.attrs(lazyKey{kind: lazyGenAITokens, op: op, a: "output"})...),
		usage:    instr.NewOpts(e.attrs(lazyKey{kind: lazyGenAIUsage, op: op})...),
		spanName: string(op) + " " + e.model,
	}
	slot.CompareAndSwap(nil, g)
	return slot.Load()
}

type lazyKey struct {
	kind lazyKind
	op   Operation
	a    string // error type, or token type
}

type lazyKind uint8

const (
	lazyError         lazyKind = iota // provider, model, error_type=a
	lazyGenAIDuration                 // gen_ai op, provider, model, error.type=a if set
	lazyGenAITokens                   // gen_ai op, provider, model, gen_ai.token.type=a
	lazyGenAIUsage                    // gen_ai op, provider, model, gen_ai.token.modality=text
)

// opts returns the options for a lazily built attribute set, building it on
// first use. A hit takes a read lock and allocates nothing.
func (e *labelSet) opts(k lazyKey) instr.Opts {
	e.mu.RLock()
	o, ok := e.lazy[k]
	e.mu.RUnlock()
	if ok {
		return o
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if o, ok = e.lazy[k]; !ok {
		o = instr.NewOpts(e.attrs(k)...)
		e.lazy[k] = o
	}
	return o
}

func (e *labelSet) attrs(k lazyKey) []attribute.KeyValue {
	if k.kind == lazyError {
		return []attribute.KeyValue{ProviderKey.String(e.provider), ModelKey.String(e.model), ErrorTypeKey.String(k.a)}
	}
	kv := []attribute.KeyValue{
		semconv.GenAIOperationNameKey.String(string(k.op)),
		semconv.GenAIProviderNameKey.String(e.genAIProvider),
		semconv.GenAIRequestModel(e.model),
	}
	switch k.kind {
	case lazyGenAIDuration:
		if k.a != "" {
			kv = append(kv, semconv.ErrorTypeKey.String(k.a))
		}
	case lazyGenAITokens:
		kv = append(kv, semconv.GenAITokenTypeKey.String(k.a))
	case lazyGenAIUsage:
		kv = append(kv, attribute.String("gen_ai.token.modality", "text"))
	}
	return kv
}

type rawKey struct{ provider, model string }

// labelKey names a label set: the label values, and the gen_ai.provider.name
// the spans and GenAI metrics carry (google's label stands for two).
type labelKey struct{ provider, model, genAI string }

// normalizeProvider normalises a provider name and folds its aliases.
func normalizeProvider(p string) string {
	p = normalizeName(p)
	if a, ok := providerAliases[p]; ok {
		return a
	}
	return p
}

// labelCache maps what callers pass to bounded label values and prices.
// Label pairs are capped at maxSeries per Metrics (more fold into the
// provider's _OTHER model, still priced as themselves); providers outside
// providerAliases are capped at maxExtraProviders (more fold into _OTHER).
// Look-ups of a pair already seen take a read lock and allocate nothing; the
// cache of pairs as passed in is bounded too, past which a look-up normalises
// again.
type labelCache struct {
	maxSeries int
	prices    *Prices

	mu        sync.RWMutex
	raw       map[rawKey]*entry      // as passed in; bounded by 4×maxSeries
	labels    map[labelKey]*labelSet // by label values
	providers map[string]bool        // extra providers admitted

	warnMu     sync.Mutex
	warned     map[rawKey]bool // unpriced models warned about, by provider and normalised model
	suppressed bool            // maxWarned reached, and said so
}

const maxExtraProviders = 16

// maxWarned bounds the unpriced models warned about, one line each: any
// client can send model names, and the log must not be theirs to flood.
const maxWarned = 256

// warnVerdict is what to log for an unpriced model's first call.
type warnVerdict uint8

const (
	warnNone     warnVerdict = iota // warned already, or past the bound
	warnModel                       // the model's one warning
	warnLastOnce                    // the bound is reached: say that further ones are suppressed
)

// unpricedWarning decides the warning for an unpriced model: one per
// model, maxWarned in all, then one line saying the rest are suppressed.
// Entries past the look-up cache's bound are built anew on every call, so
// the per-entry flag alone would warn on every call.
func (c *labelCache) unpricedWarning(provider, model string) warnVerdict {
	k := rawKey{provider, model}
	c.warnMu.Lock()
	defer c.warnMu.Unlock()
	switch {
	case c.warned[k]:
		return warnNone
	case len(c.warned) < maxWarned:
		c.warned[k] = true
		return warnModel
	case !c.suppressed:
		c.suppressed = true
		return warnLastOnce
	}
	return warnNone
}

func newLabelCache(maxSeries int, prices *Prices) *labelCache {
	return &labelCache{
		maxSeries: maxSeries, prices: prices,
		raw: map[rawKey]*entry{}, labels: map[labelKey]*labelSet{}, providers: map[string]bool{}, warned: map[rawKey]bool{},
	}
}

func (c *labelCache) get(provider, model string) *entry {
	k := rawKey{provider, model}
	c.mu.RLock()
	e := c.raw[k]
	c.mu.RUnlock()
	if e != nil {
		return e
	}
	return c.slow(k)
}

// price is the price get's entry would have, without creating the entry.
func (c *labelCache) price(provider, model string) (Price, bool) {
	c.mu.RLock()
	e := c.raw[rawKey{provider, model}]
	c.mu.RUnlock()
	if e != nil {
		return e.price, e.priced
	}
	p, m := normalizeProvider(provider), normalizeName(model)
	if p == "" || m == "" {
		return Price{}, false
	}
	return c.prices.Lookup(p, m)
}

func (c *labelCache) slow(k rawKey) *entry {
	raw := normalizeName(k.provider)
	p, m := normalizeProvider(k.provider), normalizeName(k.model)
	if p == "" {
		p = Other
	}
	if m == "" {
		m = Other
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.raw[k]; e != nil {
		return e
	}
	providerFolded := false
	if _, known := providerAliases[p]; !known && p != Other && !c.providers[p] {
		if len(c.providers) < maxExtraProviders {
			c.providers[p] = true
		} else {
			p, providerFolded = Other, true
		}
	}
	e := &entry{realModel: m, providerFolded: providerFolded}
	if m != Other {
		e.price, e.priced = c.prices.Lookup(p, m)
	}
	g := genAIProviders[raw]
	if g == "" || p == Other {
		g = p
	}
	lk := labelKey{p, m, g}
	if e.labelSet = c.labels[lk]; e.labelSet == nil {
		if len(c.labels) >= c.maxSeries {
			lk.model = Other
			e.labelSet = c.labels[lk]
			e.modelFolded = m != Other
		}
		if e.labelSet == nil {
			e.labelSet = newLabelSet(lk)
			c.labels[lk] = e.labelSet
		}
	}
	if len(c.raw) < 4*c.maxSeries {
		c.raw[k] = e
	}
	return e
}

func newLabelSet(k labelKey) *labelSet {
	l := &labelSet{provider: k.provider, model: k.model, genAIProvider: k.genAI, lazy: map[lazyKey]instr.Opts{}}
	pk, mk := ProviderKey.String(k.provider), ModelKey.String(k.model)
	l.base = instr.NewOpts(pk, mk)
	for i, tt := range tokenTypes {
		l.byType[i] = instr.NewOpts(pk, mk, TokenTypeKey.String(tt))
	}
	for i, oc := range [...]string{"success", "error"} {
		l.outcome[i] = instr.NewOpts(pk, mk, OutcomeKey.String(oc))
	}
	for i, lt := range [...]string{"requests", "tokens"} {
		l.limits[i] = instr.NewOpts(pk, mk, LimitTypeKey.String(lt))
	}
	return l
}

// tokenTypes are the values of token_type, which partition a call's tokens:
// input and output are what is left of each after the cache and reasoning
// parts.
var tokenTypes = [...]string{"input", "output", "cached_input", "cache_write", "reasoning"}
