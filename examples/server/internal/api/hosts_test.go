package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHostGuard: bound to loopback, only loopback names and the allowed
// ones are served (a DNS-rebinding page sends its own name); bound to
// another address, every Host is.
func TestHostGuard(t *testing.T) {
	t.Parallel()
	binds := map[string]bool{ // bind address: loopback
		"127.0.0.1:8000": true, "localhost:8000": true, "[::1]:8000": true, "127.0.0.2:0": true,
		":8000": false, "0.0.0.0:8000": false, "[::]:8000": false, "172.17.0.1:8000": false, "192.168.1.5:8000": false,
	}
	hosts := map[string]bool{ // Host header: served when bound to loopback
		"localhost": true, "localhost:8000": true, "LOCALHOST:8000": true,
		"127.0.0.1": true, "127.0.0.1:8000": true, "127.1.2.3:9": true,
		"[::1]": true, "[::1]:8000": true,
		"host.docker.internal:8000": true, // the allowed list below
		"orchestrator.test":         true,
		"":                          false, // HTTP/1.0 without a Host
		"attacker.example":          false, "attacker.example:8000": false,
		"localhost.attacker.example": false, "127.0.0.1.nip.io:8000": false,
		"192.168.1.5:8000": false, "[::2]:8000": false, "0.0.0.0:8000": false,
	}
	allowed := []string{"host.docker.internal", "Orchestrator.Test"}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for bind, loopback := range binds {
		isLoopback, err := LoopbackBind(bind)
		if err != nil || isLoopback != loopback {
			t.Errorf("LoopbackBind(%q) = %v, %v; want %v", bind, isLoopback, err, loopback)
		}
		h := HostGuard(ok, loopback, allowed)
		for host, served := range hosts {
			served = served || !loopback
			for _, path := range []string{"/runs", "/metrics", "/healthz"} {
				r := httptest.NewRequest(http.MethodGet, path, nil)
				r.Host = host
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if served != (w.Code == http.StatusTeapot) {
					t.Errorf("bound to %s, Host %q %s: %d, want served %v", bind, host, path, w.Code, served)
					continue
				}
				if served {
					continue
				}
				var e Error
				if w.Code != http.StatusMisdirectedRequest || json.Unmarshal(w.Body.Bytes(), &e) != nil ||
					e.Error.Field != "Host" || !strings.Contains(e.Error.Message, "ORCH_ALLOWED_HOSTS") {
					t.Errorf("bound to %s, Host %q: %d %s, want 421 with a JSON error naming Host and ORCH_ALLOWED_HOSTS", bind, host, w.Code, w.Body)
				}
			}
		}
	}
}

func TestLoopbackBindRefusesHostNames(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"example.com:8000", "8000", "127.0.0.1", "127.0.0.1:port", "127.0.0.1:70000", ""} {
		if _, err := LoopbackBind(addr); err == nil {
			t.Errorf("LoopbackBind(%q): no error", addr)
		}
	}
}

func TestCheckAllowedHosts(t *testing.T) {
	t.Parallel()
	for _, good := range []string{"host.docker.internal", "orchestrator-1.lan", "10.0.0.5", "[::1]", "::1", "my_host"} {
		if err := CheckAllowedHost(good); err != nil {
			t.Errorf("CheckAllowedHost(%q) = %v", good, err)
		}
	}
	for _, bad := range []string{"", "http://x", "x/y", "a b", "host:8000", "*"} {
		if err := CheckAllowedHost(bad); err == nil {
			t.Errorf("CheckAllowedHost(%q): no error", bad)
		}
	}
}
