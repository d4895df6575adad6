// Package llmmetrics will hold the LLM call instruments of the Agent
// Orchestrator (requests, tokens, cost, rate-limit events, duration, and the
// GenAI semantic-convention instruments), defined with the OpenTelemetry
// metric API only. It is a placeholder until the domain instruments land.
package llmmetrics
