// Package version holds the release version of the otelobs module. Every
// Meter and Tracer the module creates carries it as its instrumentation
// version.
package version

// Version is the current release version of the otelobs module.
const Version = "0.1.0"
