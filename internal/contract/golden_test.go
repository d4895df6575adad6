package contract

import (
	"bufio"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/agentorchestrator/observability/otelobs"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// pullGolden lists every series (name and labels, not values) the run
// produces on the pull path: the names users' queries, dashboards and alert
// rules depend on.
const pullGolden = "testdata/pull-series.golden"

// seriesOf returns the sorted, unique series identities of a text exposition,
// without target_info (its labels describe the host).
func seriesOf(body string) []string {
	set := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "target_info") {
			continue
		}
		id := line
		if i := strings.LastIndexByte(line, '}'); i >= 0 {
			id = line[:i+1]
		} else if i := strings.IndexByte(line, ' '); i >= 0 {
			id = line[:i]
		}
		set[id] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestPullExpositionGolden: the run's series on /metrics are exactly the
// golden list, for the default GenAI conventions and for the opt-in that
// emits both the v1.41 and the latest names (run with -update to rewrite the
// files after a deliberate change).
func TestPullExpositionGolden(t *testing.T) {
	for _, tt := range []struct{ optIn, golden string }{
		{"", pullGolden},
		{"gen_ai_latest_experimental/dup", "testdata/pull-series-genai-dup.golden"},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
			// Traces go to OTLP as by default, so that the SDK's own
			// dropped-telemetry series are listed too; nothing listens on
			// port 1, and the spans are dropped at shutdown.
			t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:1/v1/traces")
			t.Setenv("OTEL_LOG_LEVEL", "error")
			t.Setenv("OTEL_SEMCONV_STABILITY_OPT_IN", tt.optIn)
			checkGolden(t, tt.golden)
		})
	}
}

func checkGolden(t *testing.T, golden string) {
	tel, err := otelobs.Setup(t.Context(), otelobs.WithoutGlobals(), otelobs.WithServiceName("contract"))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	in, err := NewInstruments(tel.MeterProvider(), tel.TracerProvider())
	if err != nil {
		t.Fatal(err)
	}
	Run(t.Context(), in, tel.TracerProvider().Tracer("contract"), 1)

	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	got := seriesOf(rec.Body.String())
	if *update {
		if err := os.WriteFile(golden, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing series: %s", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("unexpected series: %s", g)
		}
	}
}
