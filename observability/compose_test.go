package observability

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// readEnv reads an env file with compose-go's dotenv, as
// docker-compose --env-file does.
func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	env, err := dotenv.GetEnvFromFile(map[string]string{}, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// loadCompose loads docker-compose.yml with the compose-spec loader and env
// as its variables.
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: env,
	})
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// TestComposeFile loads docker-compose.yml with the compose-spec loader and
// the variables of .env.example, and checks what users depend on: every
// service, pinned images, the ports of .env.example, mounted files that
// exist, Prometheus's exemplar storage and OTLP receiver, and the host
// gateway that lets Prometheus reach an API on the host.
func TestComposeFile(t *testing.T) {
	env := readEnv(t, ".env.example")
	p := loadCompose(t, env)
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
			if pc.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %s is published on %q, not loopback", name, pc.Published, pc.HostIP)
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

// bindAddresses maps each service's bind variable to the service whose
// ports it publishes.
var bindAddresses = map[string]string{
	"GRAFANA_BIND_ADDRESS": "grafana", "PROMETHEUS_BIND_ADDRESS": "prometheus",
	"ALERTMANAGER_BIND_ADDRESS": "alertmanager", "JAEGER_BIND_ADDRESS": "jaeger",
	"COLLECTOR_BIND_ADDRESS": "otel-collector",
}

// TestComposeBindAddresses: each *_BIND_ADDRESS set to 0.0.0.0 publishes
// that service's ports, all of them, on every interface, and no other
// service's; .env.example sets every one to loopback; every service with
// ports has its variable; and an old .env's STACK_BIND_ADDRESS=0.0.0.0
// publishes nothing beyond loopback (configure.sh refuses it, naming the new
// variables).
func TestComposeBindAddresses(t *testing.T) {
	example := readEnv(t, ".env.example")
	published := func(env map[string]string) map[string][]string { // service → host IPs
		out := map[string][]string{}
		for name, s := range loadCompose(t, env).Services {
			for _, pc := range s.Ports {
				out[name] = append(out[name], pc.HostIP)
			}
		}
		return out
	}
	with := func(k, v string) map[string]string {
		env := maps.Clone(example)
		env[k] = v
		return env
	}
	for name, ips := range published(example) {
		covered := false
		for v, s := range bindAddresses {
			covered = covered || s == name
			if example[v] != "127.0.0.1" {
				t.Errorf(".env.example: %s=%q, want 127.0.0.1", v, example[v])
			}
		}
		if !covered && len(ips) > 0 {
			t.Errorf("service %s publishes ports without a *_BIND_ADDRESS of its own", name)
		}
	}
	for v, service := range bindAddresses {
		for name, ips := range published(with(v, "0.0.0.0")) {
			want := "127.0.0.1"
			if name == service {
				want = "0.0.0.0"
			}
			for _, ip := range ips {
				if ip != want {
					t.Errorf("%s=0.0.0.0: %s publishes a port on %q, want %s (%v)", v, name, ip, want, ips)
				}
			}
		}
	}
	for name, ips := range published(with("STACK_BIND_ADDRESS", "0.0.0.0")) {
		for _, ip := range ips {
			if ip != "127.0.0.1" {
				t.Errorf("STACK_BIND_ADDRESS=0.0.0.0: %s publishes a port on %q", name, ip)
			}
		}
	}
}
