// Package gitmetrics will hold the git merge instruments of the Agent
// Orchestrator (merge duration, merge results, active merges, merge-lock
// wait), defined with the OpenTelemetry metric API only. It is a placeholder
// until the domain instruments land.
package gitmetrics
