package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// DefaultAllowedHosts are the names a loopback-bound server answers besides
// the loopback ones: the names a container reaches its host by
// (host.docker.internal, which Prometheus in Docker Desktop scrapes;
// gateway.docker.internal; Podman's host.containers.internal). No one can
// make a browser resolve them to a page of theirs (.internal is never
// delegated on the Internet), so they open no way for DNS rebinding.
var DefaultAllowedHosts = []string{"host.docker.internal", "gateway.docker.internal", "host.containers.internal"}

// LoopbackBind reports whether a listen address (host:port) is bound to
// loopback only: localhost or a loopback IP. The host must be empty (every
// interface), an IP address or localhost: a server bound to another name
// would listen on one of its addresses, which may or may not be loopback.
func LoopbackBind(addr string) (bool, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return false, fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		return false, nil
	case strings.EqualFold(host, "localhost"):
		return true, nil
	case ip != nil:
		return ip.IsLoopback(), nil
	}
	return false, fmt.Errorf("%q: want an IP address, localhost or nothing (every interface) before the port, not the host name %q", addr, host)
}

var hostName = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9._-]{0,252})$`)

// CheckAllowedHost validates one entry of ORCH_ALLOWED_HOSTS: a host name or
// an IP address, without a port.
func CheckAllowedHost(h string) error {
	ip := net.ParseIP(strings.Trim(h, "[]"))
	if ip == nil && !hostName.MatchString(h) {
		return fmt.Errorf("%q is not a host name or an IP address (without scheme, port or path)", h)
	}
	return nil
}

// HostGuard returns next, or, when the server is bound to loopback, next
// behind a check of each request's Host: a name other than localhost,
// 127.0.0.0/8, ::1 (with or without a port) or one of allowed is answered
// 421 with a JSON error. That is what stops DNS rebinding: a page of any
// origin whose name an attacker re-points at 127.0.0.1 reaches the loopback
// server as same-origin, and could read /runs and /metrics and start runs;
// its requests name the attacker's host. The first refusal of each Host is
// logged, with the fix.
func HostGuard(next http.Handler, loopback bool, allowed []string) http.Handler {
	if !loopback {
		return next
	}
	names := map[string]bool{}
	for _, a := range allowed {
		names[normalHost(a)] = true
	}
	var mu sync.Mutex
	logged := map[string]bool{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := normalHost(r.Host)
		if ip := net.ParseIP(h); (ip != nil && ip.IsLoopback()) || h == "localhost" || names[h] {
			next.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		first := !logged[h] && len(logged) < 100
		if first {
			logged[h] = true
		}
		mu.Unlock()
		if first {
			slog.Warn("server: refused a request for a Host that is not loopback (a web page's DNS rebinding, or a name of yours: then add it to ORCH_ALLOWED_HOSTS)",
				"host", r.Host, "path", r.URL.Path)
		}
		writeError(w, http.StatusMisdirectedRequest, "Host", errHost(r.Host).Error())
	})
}

func errHost(host string) error {
	if host == "" {
		return errors.New("missing: this server is bound to loopback and answers requests for localhost, 127.0.0.1, [::1] and the names in ORCH_ALLOWED_HOSTS")
	}
	return fmt.Errorf("%q is not served: this server is bound to loopback and answers requests for localhost, 127.0.0.1, [::1] and the names in ORCH_ALLOWED_HOSTS", host)
}

// normalHost is a Host header or an allowed name without its port and
// brackets, in lower case.
func normalHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.Trim(h, "[]"))
}
