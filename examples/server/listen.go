package main

import (
	"log/slog"
	"strings"
)

// logListening says at start-up where the server listens and who can reach
// it: loopback only (with the Host names it answers), or beyond, where
// anyone who reaches the address can start runs.
func logListening(log *slog.Logger, addr string, c config) {
	args := []any{"addr", addr, "metrics", "http://" + addr + "/metrics", "workspace_root", c.workspaceRoot, "seed", c.seed}
	if c.loopback {
		log.Info("server: listening on loopback only: this machine reaches it, and so does Prometheus in Docker Desktop "+
			"(API_HOST=host.docker.internal); other machines and Linux's Docker bridge (172.17.0.1) do not: "+
			"bind ORCH_ADDR=172.17.0.1:8000 for Prometheus in Docker on Linux, or the address Prometheus scrapes",
			append(args, "allowed_hosts", strings.Join(c.allowedHosts, ","))...)
		return
	}
	log.Warn("server: listening beyond loopback: whoever reaches this address can start runs and read /metrics "+
		"(no authentication, no Host check); see docs/security.md", args...)
}
