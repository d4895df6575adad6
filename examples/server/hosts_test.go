package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestLoopbackByDefault: the default address is loopback, the app then
// refuses a rebinding page's Host on the API and /metrics, and serves the
// names Prometheus scrapes it by.
func TestLoopbackByDefault(t *testing.T) {
	c, err := loadConfig(nil, func(string) string { return "" }, func() uint64 { return 1 })
	if err != nil || c.addr != "127.0.0.1:8000" || !c.loopback || strings.Join(c.allowedHosts, ",") != "host.docker.internal,gateway.docker.internal,host.containers.internal" {
		t.Fatalf("defaults: addr %q loopback %v allowed %v (%v)", c.addr, c.loopback, c.allowedHosts, err)
	}
	s := startApp(t, testEnv(t, map[string]string{"ORCH_ALLOWED_HOSTS": "orchestrator.lan"}))
	port := s.Listener.Addr().String()[strings.LastIndexByte(s.Listener.Addr().String(), ':'):]
	for host, want := range map[string]int{
		"attacker.example" + port: http.StatusMisdirectedRequest, "host.docker.internal" + port: http.StatusMisdirectedRequest,
		"localhost" + port: http.StatusOK, "127.0.0.1" + port: http.StatusOK, "orchestrator.lan" + port: http.StatusOK,
	} {
		for _, path := range []string{"/metrics", "/runs", "/healthz"} {
			req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e struct {
				Error struct{ Field, Message string }
			}
			ctype := resp.Header.Get("Content-Type")
			if want != http.StatusOK {
				err = json.NewDecoder(resp.Body).Decode(&e)
			}
			resp.Body.Close()
			if resp.StatusCode != want || want != http.StatusOK && (err != nil || ctype != "application/json" || e.Error.Field != "Host") {
				t.Errorf("GET %s, Host %s = %d %s %+v, want %d", path, host, resp.StatusCode, ctype, e, want)
			}
		}
	}
}

// TestWildcardBindHasNoHostCheck: bound beyond loopback, every Host is
// served (there is nothing to rebind to).
func TestWildcardBindHasNoHostCheck(t *testing.T) {
	s := startApp(t, testEnv(t, map[string]string{"ORCH_ADDR": ":8000"}))
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/healthz", nil)
	req.Host = "orchestrator.example:8000"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz bound to :8000 = %d", resp.StatusCode)
	}
}

// TestListeningLog: the start-up line names the address and says whether
// only this machine reaches it.
func TestListeningLog(t *testing.T) {
	for addr, want := range map[string][]string{
		"127.0.0.1:8000":  {"level=INFO", "loopback only", "addr=127.0.0.1:8000", "allowed_hosts=host.docker.internal", "ORCH_ADDR=172.17.0.1:8000"},
		":8000":           {"level=WARN", "beyond loopback", "addr=[::]:8000", "no authentication"},
		"172.17.0.1:8000": {"level=WARN", "beyond loopback", "addr=172.17.0.1:8000"},
	} {
		c, err := loadConfig(nil, testEnv(t, map[string]string{"ORCH_ADDR": addr}), func() uint64 { return 1 })
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		listenAddr := addr
		if addr == ":8000" {
			listenAddr = "[::]:8000" // what net.Listen reports
		}
		logListening(slog.New(slog.NewTextHandler(&b, nil)), listenAddr, c)
		for _, w := range want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("ORCH_ADDR=%s: log lacks %q:\n%s", addr, w, b.String())
			}
		}
	}
}

func TestAddressErrors(t *testing.T) {
	for name, value := range map[string]string{
		"ORCH_ADDR": "orchestrator.example:8000", "ORCH_ALLOWED_HOSTS": "http://x.lan",
	} {
		_, err := loadConfig(nil, testEnv(t, map[string]string{name: value}), func() uint64 { return 1 })
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: err = %v", name, value, err)
		}
	}
	if _, err := loadConfig([]string{"-addr", "8000"}, testEnv(t, nil), func() uint64 { return 1 }); err == nil || !strings.Contains(err.Error(), "ORCH_ADDR") {
		t.Errorf("-addr 8000: err = %v", err)
	}
}
