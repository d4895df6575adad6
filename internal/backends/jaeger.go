package backends

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Jaeger is a running Jaeger v2 with in-memory storage.
type Jaeger struct {
	*Process
	// QueryURL is the query service's base URL (the /api/… endpoints).
	QueryURL string
	// OTLPGRPC and OTLPHTTP are host:port of its OTLP receiver.
	OTLPGRPC string
	OTLPHTTP string
}

// jaegerConfig keeps every listener on 127.0.0.1 and a free port: the
// built-in all-in-one configuration binds 4317/4318/8888/13133 on localhost.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    traces:
      level: none
    logs:
      level: info
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:%[1]d
    grpc:
      endpoint: 127.0.0.1:%[2]d
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:%[3]d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%[4]d
      http:
        endpoint: 127.0.0.1:%[5]d
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// StartJaeger starts Jaeger and waits until its query API answers.
func StartJaeger(t testing.TB) *Jaeger {
	t.Helper()
	dir := t.TempDir()
	var j *Jaeger
	startRetrying(t, "jaeger", func() (*Process, error) {
		query, queryGRPC, health, grpc, httpPort := FreePort(t), FreePort(t), FreePort(t), FreePort(t), FreePort(t)
		conf := filepath.Join(dir, "jaeger.yaml")
		if err := os.WriteFile(conf, fmt.Appendf(nil, jaegerConfig, query, queryGRPC, health, grpc, httpPort), 0o644); err != nil {
			t.Fatal(err)
		}
		p := Start(t, "jaeger", dir, Bin(t, "jaeger"), nil, "--config=file:"+conf)
		j = &Jaeger{
			Process:  p,
			QueryURL: fmt.Sprintf("http://127.0.0.1:%d", query),
			OTLPGRPC: fmt.Sprintf("127.0.0.1:%d", grpc),
			OTLPHTTP: fmt.Sprintf("127.0.0.1:%d", httpPort),
		}
		return p, p.waitReady(j.QueryURL+"/api/services", 60*time.Second)
	})
	return j
}

// TraceSpans returns the operation names of the spans of a trace, or
// ErrNotFound when Jaeger does not know the trace (yet).
func (j *Jaeger) TraceSpans(ctx context.Context, traceID string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.QueryURL+"/api/traces/"+traceID, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("trace %s: %w", traceID, ErrNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/traces/%s: %d %s", traceID, resp.StatusCode, body)
	}
	var r struct {
		Data []struct {
			TraceID string `json:"traceID"`
			Spans   []struct {
				OperationName string `json:"operationName"`
			} `json:"spans"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode trace %s: %w", traceID, err)
	}
	var names []string
	for _, d := range r.Data {
		for _, s := range d.Spans {
			names = append(names, s.OperationName)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("trace %s has no spans: %w", traceID, ErrNotFound)
	}
	return names, nil
}

// jaegerTraces is the part of Jaeger's /api/traces answers the helpers read.
type jaegerTraces struct {
	Data []struct {
		TraceID string `json:"traceID"`
		Spans   []struct {
			SpanID string `json:"spanID"`
		} `json:"spans"`
	} `json:"data"`
}

func (j *Jaeger) get(ctx context.Context, path string, params url.Values, out any) error {
	u := j.QueryURL + path
	if params != nil {
		u += "?" + params.Encode()
	}
	status, body, err := httpGet(ctx, u)
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		return fmt.Errorf("GET %s: %w", path, ErrNotFound)
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, status, body)
	}
	return json.Unmarshal(body, out)
}

// SpanIDs returns the span ids Jaeger holds for each trace of service
// (at most 10,000 traces of the last hour), duplicates included.
func (j *Jaeger) SpanIDs(ctx context.Context, service string) (map[string][]string, error) {
	var r jaegerTraces
	err := j.get(ctx, "/api/traces", url.Values{"service": {service}, "limit": {"10000"}, "lookback": {"1h"}}, &r)
	if errors.Is(err, ErrNotFound) {
		return map[string][]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, d := range r.Data {
		for _, s := range d.Spans {
			out[d.TraceID] = append(out[d.TraceID], s.SpanID)
		}
	}
	return out, nil
}
