package observability

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
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

// loadCompose loads docker-compose.yml of the repository with env as its
// variables (docker-compose --env-file).
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
	for _, vol := range []string{"prometheus-data", "grafana-data", "alertmanager-data", "jaeger-data"} {
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

// healthURL is the URL a healthcheck's busybox wget fetches.
var healthURL = regexp.MustCompile(`^http://127\.0\.0\.1:(\d+)/\S*$`)

// TestComposeHealthchecks: every service has a healthcheck (wget, the one
// HTTP client the images have, on the port the service listens on in its
// container), except the Collector, whose image has no program to run one;
// each service_healthy dependency is on a service with a healthcheck, and
// the Collector waits for Prometheus and Jaeger, Grafana for Prometheus.
func TestComposeHealthchecks(t *testing.T) {
	p := loadCompose(t, readEnv(t, ".env.example"))
	// The port each service's health endpoint is on, in its container.
	jaegerHealth := yamlEnvDefault(t, "jaeger.yaml", "JAEGER_HEALTH_ENDPOINT")
	port := map[string]string{
		"prometheus": "9090", "alertmanager": "9093", "grafana": "3000",
		"jaeger": jaegerHealth[strings.LastIndex(jaegerHealth, ":")+1:],
	}
	for name, s := range p.Services {
		hc := s.HealthCheck
		if name == "otel-collector" {
			if hc != nil && !hc.Disable {
				t.Errorf("otel-collector has a healthcheck %v, but its image has no program to run it", hc.Test)
			}
			continue
		}
		if hc == nil || hc.Disable || len(hc.Test) < 2 {
			t.Errorf("%s has no healthcheck", name)
			continue
		}
		if hc.Test[0] != "CMD" || hc.Test[1] != "wget" {
			t.Errorf("%s: healthcheck %v: want [CMD wget …] (no shell is needed)", name, hc.Test)
		}
		m := healthURL.FindStringSubmatch(hc.Test[len(hc.Test)-1])
		if m == nil || m[1] != port[name] {
			t.Errorf("%s: healthcheck %v does not fetch http://127.0.0.1:%s/…", name, hc.Test, port[name])
		}
		if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil {
			t.Errorf("%s: healthcheck without interval, timeout or retries: %+v", name, hc)
		}
	}
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				continue
			}
			if hc := p.Services[dep].HealthCheck; hc == nil || hc.Disable {
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
	}
	for name, deps := range map[string][]string{"otel-collector": {"prometheus", "jaeger"}, "grafana": {"prometheus"}} {
		for _, dep := range deps {
			if d, ok := p.Services[name].DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s does not wait for %s to be healthy: %+v", name, dep, p.Services[name].DependsOn)
			}
		}
	}
}

// yamlEnvDefault returns the default of the ${env:NAME:-default} reference
// in a configuration file of this folder.
func yamlEnvDefault(t *testing.T, file, name string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\$\{env:` + name + `:-([^}]*)\}`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s has no ${env:%s:-…}", file, name)
	}
	return string(m[1])
}

// TestComposeCollectorMemoryLimit: the Collector container has the memory
// limit of COLLECTOR_MEMORY_LIMIT, and its memory_limiter is set in
// percentages, which follow that limit (the container's cgroup), not in MiB.
func TestComposeCollectorMemoryLimit(t *testing.T) {
	env := readEnv(t, ".env.example")
	env["COLLECTOR_MEMORY_LIMIT"] = "768m" // not the default: the value comes from .env
	c := loadCompose(t, env).Services["otel-collector"]
	if got := c.MemLimit; got != 768<<20 {
		t.Errorf("otel-collector mem_limit = %d bytes, want 768m from COLLECTOR_MEMORY_LIMIT", got)
	}
	b, err := os.ReadFile(filepath.Join("..", "collector", "otel-collector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		Processors map[string]map[string]any
		Service    struct {
			Pipelines map[string]struct{ Processors []string }
		}
	}
	if err := yaml.Unmarshal(b, &conf); err != nil {
		t.Fatal(err)
	}
	ml, ok := conf.Processors["memory_limiter"]
	if !ok {
		t.Fatal("collector/otel-collector.yaml has no memory_limiter")
	}
	for _, k := range []string{"limit_percentage", "spike_limit_percentage"} {
		if v, ok := ml[k].(int); !ok || v <= 0 || v >= 100 {
			t.Errorf("memory_limiter.%s = %v, want a percentage", k, ml[k])
		}
	}
	for _, k := range []string{"limit_mib", "spike_limit_mib"} {
		if _, ok := ml[k]; ok {
			t.Errorf("memory_limiter.%s is set: a fixed size ignores the container's limit", k)
		}
	}
	for name, pl := range conf.Service.Pipelines {
		if len(pl.Processors) == 0 || pl.Processors[0] != "memory_limiter" {
			t.Errorf("pipeline %s: memory_limiter is not first: %v", name, pl.Processors)
		}
	}
}

// TestComposePrometheusMounts: Prometheus mounts only what it reads: the
// files prometheus.yml names (alerts.yml, the targets/ folder of file_sd),
// prometheus.yml itself and the remote_write secret file .env names, never
// .env, the observability folder or another secret.
func TestComposePrometheusMounts(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	obs := filepath.Join(root, "observability")
	// What the generated prometheus.yml reads, relative to its folder.
	conf, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"prometheus.yml", "targets"} // targets/*.json with several API hosts
	for _, m := range regexp.MustCompile(`(?m)^rule_files:\n((?:  - .*\n)+)`).FindAllStringSubmatch(string(conf), -1) {
		for _, f := range regexp.MustCompile(`- (\S+)`).FindAllStringSubmatch(m[1], -1) {
			needed = append(needed, f[1])
		}
	}
	for _, c := range []struct{ name, secret string }{
		{"no remote_write", ""},
		{"password file", "REMOTE_WRITE_PASSWORD_FILE"},
		{"bearer token file", "REMOTE_WRITE_BEARER_TOKEN_FILE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := readEnv(t, ".env.example")
			want := slices.Clone(needed)
			if c.secret != "" {
				env["REMOTE_WRITE_URL"] = "https://mimir.example/api/v1/push"
				env[c.secret] = "secrets/remote_write_credential"
				want = append(want, env[c.secret])
			}
			mounted := map[string]string{} // target below /etc/prometheus → source
			for _, v := range loadCompose(t, env).Services["prometheus"].Volumes {
				if v.Type != types.VolumeTypeBind {
					continue
				}
				rel, err := filepath.Rel("/etc/prometheus", v.Target)
				if err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("mounts %s at %s, outside /etc/prometheus", v.Source, v.Target)
					continue
				}
				mounted[rel] = v.Source
				if !v.ReadOnly {
					t.Errorf("mounts %s read-write", v.Source)
				}
				src, _ := filepath.Rel(obs, v.Source)
				if src != rel {
					t.Errorf("mounts %s at %s: not the same path below observability/ as below /etc/prometheus", v.Source, v.Target)
				}
				switch {
				case src == "." || src == ".env" || strings.HasPrefix(src, ".."):
					t.Errorf("mounts %s, which holds .env or the secrets", v.Source)
				case strings.HasPrefix(src, "secrets"+string(filepath.Separator)) && src != env[c.secret] && src != "secrets/README.md":
					t.Errorf("mounts %s, a secret remote_write does not use", v.Source)
				case src == "secrets":
					t.Errorf("mounts the whole secrets folder")
				}
			}
			for _, f := range want {
				if _, ok := mounted[f]; !ok {
					t.Errorf("Prometheus reads %s, which is not mounted at /etc/prometheus/%s (mounts: %v)", f, f, slices.Sorted(maps.Keys(mounted)))
				}
			}
		})
	}
	if info, err := os.Stat(filepath.Join(obs, "targets")); err != nil || !info.IsDir() {
		t.Errorf("observability/targets is not a folder in the repository (%v): a mount of a missing path creates it as root", err)
	}
}

// TestComposeExternalURLs: Prometheus and Alertmanager get
// --web.external-url from .env, by default http://localhost and their
// published port, and serve from / whatever its path.
func TestComposeExternalURLs(t *testing.T) {
	for _, c := range []struct {
		name           string
		set            map[string]string
		prom, alertmgr string
	}{
		{"defaults", map[string]string{"PROMETHEUS_PORT": "19090", "ALERTMANAGER_PORT": "19093"},
			"http://localhost:19090", "http://localhost:19093"},
		{"from .env", map[string]string{"PROMETHEUS_EXTERNAL_URL": "https://ops.example/prometheus", "ALERTMANAGER_EXTERNAL_URL": "https://am.example"},
			"https://ops.example/prometheus", "https://am.example"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := readEnv(t, ".env.example")
			maps.Copy(env, c.set)
			p := loadCompose(t, env)
			for svc, want := range map[string]string{"prometheus": c.prom, "alertmanager": c.alertmgr} {
				args := p.Services[svc].Command
				if !slices.Contains(args, "--web.external-url="+want) {
					t.Errorf("%s: no --web.external-url=%s in %v", svc, want, args)
				}
				if !slices.Contains(args, "--web.route-prefix=/") {
					t.Errorf("%s: no --web.route-prefix=/ (its healthcheck and clients use /): %v", svc, args)
				}
			}
		})
	}
}

// TestComposeJaegerStorage: Jaeger runs the shipped observability/jaeger.yaml,
// mounted read-only, with its Badger folder on the jaeger-data volume.
func TestComposeJaegerStorage(t *testing.T) {
	j := loadCompose(t, readEnv(t, ".env.example")).Services["jaeger"]
	conf := ""
	for _, a := range j.Command {
		if v, ok := strings.CutPrefix(a, "--config=file:"); ok {
			conf = v
		}
	}
	if conf == "" {
		t.Fatalf("jaeger runs without a --config=file: %v", j.Command)
	}
	badger := yamlEnvDefault(t, "jaeger.yaml", "JAEGER_BADGER_DIR")
	var configMounted, dataOnVolume bool
	for _, v := range j.Volumes {
		switch {
		case v.Type == types.VolumeTypeBind && v.Target == conf:
			configMounted = v.ReadOnly && filepath.Base(v.Source) == "jaeger.yaml" && filepath.Base(filepath.Dir(v.Source)) == "observability"
		case v.Type == types.VolumeTypeVolume && v.Source == "jaeger-data":
			dataOnVolume = badger == v.Target || strings.HasPrefix(badger, v.Target+"/")
		}
	}
	if !configMounted {
		t.Errorf("observability/jaeger.yaml is not mounted read-only at %s: %+v", conf, j.Volumes)
	}
	if !dataOnVolume {
		t.Errorf("Badger's folder %s is not on the jaeger-data volume: %+v", badger, j.Volumes)
	}
	// The Collector sends to Jaeger's OTLP/gRPC receiver, and Grafana's data
	// source and the published port are the query port jaeger.yaml sets.
	if ep := p2s(loadCompose(t, readEnv(t, ".env.example")).Services["otel-collector"].Environment["JAEGER_OTLP_ENDPOINT"]); !strings.HasSuffix(ep, ":"+portOf(yamlEnvDefault(t, "jaeger.yaml", "JAEGER_OTLP_GRPC_ENDPOINT"))) {
		t.Errorf("the Collector sends traces to %s, not to jaeger.yaml's OTLP port", ep)
	}
	if q := portOf(yamlEnvDefault(t, "jaeger.yaml", "JAEGER_QUERY_HTTP_ENDPOINT")); len(j.Ports) == 0 || j.Ports[0].Target != parsePort(t, q) {
		t.Errorf("jaeger publishes %+v, not jaeger.yaml's query port %s", j.Ports, q)
	}
}

func p2s(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func portOf(hostPort string) string { return hostPort[strings.LastIndex(hostPort, ":")+1:] }

func parsePort(t *testing.T, s string) uint32 {
	t.Helper()
	var n uint32
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("port %q", s)
		}
		n = n*10 + uint32(c-'0')
	}
	return n
}

// TestComposeObservabilityFile: docker-compose.observability.yml, loaded as
// docker compose does for the guide's commands (-f from the repository
// root, and -f ../ from observability/), with no --env-file, takes its
// variables from observability/.env and yields the project that
// docker-compose.yml gives with --env-file observability/.env: the same
// name, services, ports, environment and volumes.
func TestComposeObservabilityFile(t *testing.T) {
	// A copy of the two files, with an .env whose values are not the
	// defaults, so that a variable not read from it shows.
	dir := t.TempDir()
	for _, f := range []string{"docker-compose.yml", "docker-compose.observability.yml"} {
		b, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	example, err := os.ReadFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]string{
		"PROMETHEUS_PORT": "19090", "GRAFANA_PORT": "13001", "PROMETHEUS_BIND_ADDRESS": "10.0.0.7",
		"GRAFANA_ADMIN_PASSWORD": "not-the-default", "COLLECTOR_MEMORY_LIMIT": "1g",
		"REMOTE_WRITE_URL": "https://mimir.example/api/v1/push", "REMOTE_WRITE_BEARER_TOKEN_FILE": "secrets/rw_token",
	}
	env := string(example)
	for k, v := range set {
		env = regexp.MustCompile(`(?m)^`+k+`=.*$`).ReplaceAllString(env, k+"="+v)
	}
	if err := os.MkdirAll(filepath.Join(dir, "observability"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "observability", ".env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	// As docker compose loads -f files: the project folder is the first
	// file's, the default .env is that folder's.
	load := func(t *testing.T, cwd, file string, opts ...cli.ProjectOptionsFn) *types.Project {
		t.Helper()
		t.Chdir(cwd)
		o, err := cli.NewProjectOptions([]string{file}, append(opts, cli.WithDotEnv)...)
		if err != nil {
			t.Fatal(err)
		}
		p, err := o.LoadProject(context.Background())
		if err != nil {
			t.Fatalf("-f %s from %s: %v", file, cwd, err)
		}
		return p
	}
	main := load(t, dir, "docker-compose.yml", cli.WithEnvFiles(filepath.Join("observability", ".env")))
	if got := main.Services["prometheus"].Ports[0]; got.Published != "19090" || got.HostIP != "10.0.0.7" {
		t.Fatalf("docker-compose.yml with --env-file: prometheus publishes %+v, not .env's", got)
	}
	for cwd, file := range map[string]string{
		dir: "docker-compose.observability.yml", filepath.Join(dir, "observability"): "../docker-compose.observability.yml",
	} {
		p := load(t, cwd, file)
		if p.Name != main.Name {
			t.Errorf("from %s: project %q, want %q (the same containers and volumes)", cwd, p.Name, main.Name)
		}
		if !slices.Equal(slices.Sorted(maps.Keys(p.Services)), slices.Sorted(maps.Keys(main.Services))) {
			t.Errorf("from %s: services %v, want %v", cwd, slices.Sorted(maps.Keys(p.Services)), slices.Sorted(maps.Keys(main.Services)))
		}
		for name, want := range main.Services {
			got := p.Services[name]
			for what, eq := range map[string]bool{
				"ports":       reflect.DeepEqual(got.Ports, want.Ports),
				"environment": reflect.DeepEqual(got.Environment, want.Environment),
				"command":     slices.Equal(got.Command, want.Command),
				"volumes":     reflect.DeepEqual(got.Volumes, want.Volumes),
				"healthcheck": reflect.DeepEqual(got.HealthCheck, want.HealthCheck),
				"depends_on":  reflect.DeepEqual(got.DependsOn, want.DependsOn),
				"mem_limit":   got.MemLimit == want.MemLimit,
			} {
				if !eq {
					t.Errorf("from %s: %s: %s differ from docker-compose.yml --env-file observability/.env", cwd, name, what)
				}
			}
		}
		if !slices.Equal(slices.Sorted(maps.Keys(p.Volumes)), slices.Sorted(maps.Keys(main.Volumes))) {
			t.Errorf("from %s: volumes %v, want %v", cwd, slices.Sorted(maps.Keys(p.Volumes)), slices.Sorted(maps.Keys(main.Volumes)))
		}
	}
}
