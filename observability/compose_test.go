package observability

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// readEnv reads KEY=VALUE lines, as docker-compose --env-file does.
func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		v, _, _ = strings.Cut(v, " #")
		env[k] = strings.TrimSpace(v)
	}
	return env
}

// TestComposeFile loads docker-compose.yml with the compose-spec loader and
// the variables of .env.example, and checks what users depend on: every
// service, pinned images, the ports of .env.example, mounted files that
// exist, Prometheus's exemplar storage and OTLP receiver, and the host
// gateway that lets Prometheus reach an API on the host.
func TestComposeFile(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	env := readEnv(t, ".env.example")
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: env,
	})
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	want := map[string]string{ // service → the published port it must have
		"prometheus": env["PROMETHEUS_PORT"], "grafana": env["GRAFANA_PORT"], "alertmanager": env["ALERTMANAGER_PORT"],
		"jaeger": "16686", "otel-collector": "4318",
	}
	for name, port := range want {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if tag := s.Image[strings.LastIndex(s.Image, ":")+1:]; !strings.Contains(s.Image, ":") || tag == "latest" {
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
		published := false
		for _, pc := range s.Ports {
			published = published || pc.Published == port
			if pc.HostIP != env["STACK_BIND_ADDRESS"] {
				t.Errorf("%s: port %s is published on %q, not STACK_BIND_ADDRESS (%s)", name, pc.Published, pc.HostIP, env["STACK_BIND_ADDRESS"])
			}
		}
		if !published {
			t.Errorf("%s: port %s (from .env.example) is not published: %+v", name, port, s.Ports)
		}
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: mounts %s, which does not exist", name, v.Source)
			}
		}
	}
	prom := p.Services["prometheus"]
	args := strings.Join(prom.Command, " ")
	for _, flag := range []string{"--enable-feature=exemplar-storage", "--web.enable-otlp-receiver", "--storage.tsdb.retention.time", "--storage.tsdb.retention.size"} {
		if !strings.Contains(args, flag) {
			t.Errorf("prometheus lacks %s", flag)
		}
	}
	if !strings.Contains(strings.Join(prom.ExtraHosts.AsList(":"), " "), "host.docker.internal:host-gateway") {
		t.Errorf("prometheus lacks host.docker.internal:host-gateway: %v", prom.ExtraHosts)
	}
	g := p.Services["grafana"].Environment
	if u, pw := g["GF_SECURITY_ADMIN_USER"], g["GF_SECURITY_ADMIN_PASSWORD"]; u == nil || pw == nil ||
		*u != env["GRAFANA_ADMIN_USER"] || *pw != env["GRAFANA_ADMIN_PASSWORD"] {
		t.Errorf("grafana credentials do not come from .env: %v", g)
	}
	for _, vol := range []string{"prometheus-data", "grafana-data", "alertmanager-data"} {
		if _, ok := p.Volumes[vol]; !ok {
			t.Errorf("no persistent volume %s", vol)
		}
	}
}
