// Package observability holds the tests of the stack's configuration files
// in this folder (alert rules, Prometheus and Alertmanager configuration),
// run against the real promtool, amtool and Collector binaries.
package observability
