package llmmetrics

import "strings"

// SemconvStabilityEnv is the variable the semantic conventions use to opt in
// to newer GenAI names.
const SemconvStabilityEnv = "OTEL_SEMCONV_STABILITY_OPT_IN"

// Conventions selects which GenAI semantic-convention instruments are
// emitted next to the llm.* ones.
type Conventions int

// The GenAI convention modes.
const (
	// ConventionsV141 emits gen_ai.client.token.usage and
	// gen_ai.client.operation.duration (semantic conventions v1.41, the last
	// release with GenAI in the main repository). The default.
	ConventionsV141 Conventions = iota
	// ConventionsLatest emits the latest experimental names instead:
	// gen_ai.client.inference.duration and the
	// gen_ai.client.inference.usage.* token counters.
	ConventionsLatest
	// ConventionsDup emits both, for migrating dashboards.
	ConventionsDup
)

// conventionsFromEnv reads OTEL_SEMCONV_STABILITY_OPT_IN, a comma list in
// which gen_ai_latest_experimental selects ConventionsLatest and
// gen_ai_latest_experimental/dup selects ConventionsDup. Other entries
// belong to other convention areas and are ignored.
func conventionsFromEnv(lookup func(string) string) Conventions {
	mode := ConventionsV141
	for v := range strings.SplitSeq(lookup(SemconvStabilityEnv), ",") {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "gen_ai_latest_experimental/dup":
			return ConventionsDup
		case "gen_ai_latest_experimental":
			mode = ConventionsLatest
		}
	}
	return mode
}

func (c Conventions) v141() bool   { return c != ConventionsLatest }
func (c Conventions) latest() bool { return c != ConventionsV141 }
