// Package taskmetrics will hold the task and worker instruments of the Agent
// Orchestrator (task states, active tasks and workers, execution duration,
// completions, retries), defined with the OpenTelemetry metric API only. It is
// a placeholder until the domain instruments land.
package taskmetrics
