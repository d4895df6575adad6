package backends

import (
	"fmt"
	"testing"
	"time"
)

// Collector is a running OpenTelemetry Collector.
type Collector struct {
	*Process
	// GRPCEndpoint and HTTPEndpoint are the OTLP receiver's URLs.
	GRPCEndpoint string
	HTTPEndpoint string
	// HealthURL is the health check; MetricsURL the Collector's own
	// /metrics.
	HealthURL  string
	MetricsURL string
}

// CollectorPorts are the ports a Collector listens on; choose them before
// starting it, so that a program can be pointed at a Collector that is not up
// yet.
type CollectorPorts struct {
	GRPC, HTTP, Health, Metrics int
}

// NewCollectorPorts picks four free ports and holds them until a Collector
// starts on them: until then nothing else can take them (a test may point a
// program at a Collector that is down for a while), and a connection to them
// is refused, as to a Collector that is down.
func NewCollectorPorts(t testing.TB) CollectorPorts {
	return CollectorPorts{GRPC: reservePort(t), HTTP: reservePort(t), Health: reservePort(t), Metrics: reservePort(t)}
}

// Hold reserves the ports again, once the Collector on them has stopped,
// until the next StartCollector on them. A port its connections still hold
// (TIME_WAIT) cannot be bound without SO_REUSEADDR, which would let others
// in too: that one stays unheld, and is unlikely to be taken.
func (p CollectorPorts) Hold(t testing.TB) {
	t.Helper()
	for _, port := range []int{p.GRPC, p.HTTP, p.Health, p.Metrics} {
		if err := holdPort(t, port); err != nil {
			t.Logf("port %d stays unheld: %v", port, err)
		}
	}
}

func (p CollectorPorts) release() {
	for _, port := range []int{p.GRPC, p.HTTP, p.Health, p.Metrics} {
		releasePort(port)
	}
}

// StartCollector runs the Collector with the configuration file at
// configPath, passing env (NAME=value) for the ${env:…} references in it, and
// waits for its health check. The OTLP receiver and health check endpoints
// are set from ports through OTELCOL_OTLP_GRPC_ENDPOINT,
// OTELCOL_OTLP_HTTP_ENDPOINT, OTELCOL_HEALTH_ENDPOINT and
// OTELCOL_METRICS_HOST/PORT.
func StartCollector(t testing.TB, configPath string, ports CollectorPorts, env ...string) *Collector {
	t.Helper()
	// The ports are the caller's (a test may point a program at a Collector
	// before it starts), so a lost port cannot be replaced here.
	c, p := startCollector(t, configPath, ports, env...)
	if err := p.waitReady(fmt.Sprintf("http://127.0.0.1:%d/", ports.Health), 30*time.Second); err != nil {
		t.Fatalf("otelcol: %v", err)
	}
	return c
}

func startCollector(t testing.TB, configPath string, ports CollectorPorts, env ...string) (*Collector, *Process) {
	dir := t.TempDir()
	ports.release()
	env = append(env,
		fmt.Sprintf("OTELCOL_OTLP_GRPC_ENDPOINT=127.0.0.1:%d", ports.GRPC),
		fmt.Sprintf("OTELCOL_OTLP_HTTP_ENDPOINT=127.0.0.1:%d", ports.HTTP),
		fmt.Sprintf("OTELCOL_HEALTH_ENDPOINT=127.0.0.1:%d", ports.Health),
		"OTELCOL_METRICS_HOST=127.0.0.1",
		fmt.Sprintf("OTELCOL_METRICS_PORT=%d", ports.Metrics),
	)
	p := Start(t, "otelcol", dir, Bin(t, "otelcol"), env, "--config=file:"+configPath)
	return &Collector{
		Process:      p,
		GRPCEndpoint: fmt.Sprintf("http://127.0.0.1:%d", ports.GRPC),
		HTTPEndpoint: fmt.Sprintf("http://127.0.0.1:%d", ports.HTTP),
		HealthURL:    fmt.Sprintf("http://127.0.0.1:%d/", ports.Health),
		MetricsURL:   fmt.Sprintf("http://127.0.0.1:%d/metrics", ports.Metrics),
	}, p
}

// StartCollectorAnyPorts is StartCollector on ports of its own choosing,
// started again on new ports if one was taken meanwhile.
func StartCollectorAnyPorts(t testing.TB, configPath string, env ...string) *Collector {
	t.Helper()
	var c *Collector
	startRetrying(t, "otelcol", func() (*Process, error) {
		ports := NewCollectorPorts(t)
		var p *Process
		c, p = startCollector(t, configPath, ports, env...)
		return p, p.waitReady(fmt.Sprintf("http://127.0.0.1:%d/", ports.Health), 30*time.Second)
	})
	return c
}

// CollectorEnv is the environment the shipped collector/otel-collector.yaml
// needs to forward metrics to prom's OTLP receiver and traces to jaeger.
func CollectorEnv(prom *Prometheus, jaeger *Jaeger) []string {
	return []string{"PROMETHEUS_OTLP_ENDPOINT=" + prom.URL + "/api/v1/otlp", "JAEGER_OTLP_ENDPOINT=" + jaeger.OTLPGRPC}
}

// StartPushStack starts the push path's backends: Jaeger, Prometheus with
// its OTLP receiver, and the Collector with the shipped configuration
// between the app and them.
func StartPushStack(t testing.TB) (*Prometheus, *Jaeger, *Collector) {
	t.Helper()
	jaeger := StartJaeger(t)
	prom := StartPrometheus(t, PrometheusConfig{OTLPReceiver: true})
	col := StartCollectorAnyPorts(t, RepoPath("collector", "otel-collector.yaml"), CollectorEnv(prom, jaeger)...)
	return prom, jaeger, col
}
