package doctor

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// datasource is the part of a Grafana data source the exemplar link needs;
// the API's JSON and the provisioning YAML share the field names.
type datasource struct {
	Name     string `json:"name" yaml:"name"`
	UID      string `json:"uid" yaml:"uid"`
	Type     string `json:"type" yaml:"type"`
	JSONData struct {
		ExemplarTraceIDDestinations []struct {
			Name          string `json:"name" yaml:"name"`
			DatasourceUID string `json:"datasourceUid" yaml:"datasourceUid"`
			URL           string `json:"url" yaml:"url"`
		} `json:"exemplarTraceIdDestinations" yaml:"exemplarTraceIdDestinations"`
		TracesToMetrics *struct {
			DatasourceUID string `json:"datasourceUid" yaml:"datasourceUid"`
		} `json:"tracesToMetrics" yaml:"tracesToMetrics"`
	} `json:"jsonData" yaml:"jsonData"`
}

var traceTypes = map[string]bool{"jaeger": true, "tempo": true, "zipkin": true}

// checkGrafana is step 5: Grafana's Prometheus data source links exemplars,
// by the label the app writes, to a trace data source, and that one links
// back to the metrics. It asks Grafana's API when Grafana answers, else
// reads the provisioning files.
func (d *doctor) checkGrafana(ctx context.Context) {
	sources, from, err := d.grafanaSources(ctx)
	if err != nil {
		d.add(5, "grafana.exemplar_link", Fail, "Grafana: "+err.Error(), grafanaFix(from))
		return
	}
	if sources == nil {
		d.add(5, "grafana.exemplar_link", Skip, "Grafana: not reachable and no provisioning folder given (-grafana, -datasources)", "")
		return
	}
	want := d.appExemplarLabel
	if want == "" {
		want = "trace_id"
	}
	byUID := map[string]datasource{}
	for _, s := range sources {
		byUID[s.UID] = s
	}
	var prom *datasource
	for i := range sources {
		if sources[i].Type == "prometheus" {
			prom = &sources[i]
			break
		}
	}
	if prom == nil {
		d.add(5, "grafana.exemplar_link", Fail, "Grafana: no Prometheus data source in "+from, grafanaFix(from))
		return
	}
	var names []string
	var trace *datasource
	for _, dest := range prom.JSONData.ExemplarTraceIDDestinations {
		names = append(names, dest.Name)
		if dest.Name != want {
			continue
		}
		if t, ok := byUID[dest.DatasourceUID]; ok && traceTypes[t.Type] {
			trace = &t
			break
		}
		if dest.URL != "" {
			d.add(5, "grafana.exemplar_link", Pass, fmt.Sprintf("Grafana: %s links exemplar label %s to the URL %s (%s)", prom.Name, want, dest.URL, from), "")
			return
		}
		d.add(5, "grafana.exemplar_link", Fail,
			fmt.Sprintf("Grafana: %s links %s to data source uid %q, which is not a trace data source (%s)", prom.Name, want, dest.DatasourceUID, from),
			fmt.Sprintf("set datasourceUid to the Jaeger data source's uid (jaeger in %s)", from))
		return
	}
	if trace == nil {
		summary := fmt.Sprintf("Grafana: %s has no exemplar link (exemplarTraceIdDestinations) (%s)", prom.Name, from)
		if len(names) > 0 {
			summary = fmt.Sprintf("Grafana: %s links exemplar label %s, but the exemplars carry %s (%s)", prom.Name, strings.Join(names, ", "), want, from)
		}
		d.add(5, "grafana.exemplar_link", Fail, summary,
			fmt.Sprintf("in the Prometheus data source's jsonData: exemplarTraceIdDestinations: [{name: %s, datasourceUid: jaeger}]\n(%s); the label name must match exactly", want, from))
		return
	}
	d.add(5, "grafana.exemplar_link", Pass, fmt.Sprintf("Grafana: %s links exemplar label %s to %s (%s)", prom.Name, want, trace.Name, from), "")
	if t := trace.JSONData.TracesToMetrics; t == nil || t.DatasourceUID != prom.UID {
		d.add(5, "grafana.traces_to_metrics", Fail, fmt.Sprintf("Grafana: %s has no link from traces back to %s (%s)", trace.Name, prom.Name, from),
			fmt.Sprintf("in the trace data source's jsonData: tracesToMetrics: {datasourceUid: %s, …} (as the shipped datasources.yml)", prom.UID))
		return
	}
	d.add(5, "grafana.traces_to_metrics", Pass, fmt.Sprintf("Grafana: %s links traces back to %s", trace.Name, prom.Name), "")
}

func grafanaFix(from string) string {
	return "provision the data sources as observability/grafana/provisioning/datasources/datasources.yml does (" + from + ")"
}

// grafanaSources returns the data sources, from Grafana's API when it
// answers, else from the provisioning files, and where they came from. It
// returns nil sources when neither is available.
func (d *doctor) grafanaSources(ctx context.Context) ([]datasource, string, error) {
	if d.cfg.GrafanaURL != "" {
		base := strings.TrimSuffix(d.cfg.GrafanaURL, "/")
		ok, what := d.probe(ctx, base+"/api/health")
		if ok {
			return d.grafanaAPISources(ctx, base)
		}
		if !d.checkView(ctx, base) {
			d.add(5, "grafana.api", Skip, fmt.Sprintf("Grafana: %s/api/health: %s; reading the provisioning files instead", base, what), "")
		}
	}
	if d.cfg.DatasourcesDir == "" {
		return nil, "", nil
	}
	files, err := filepath.Glob(filepath.Join(d.cfg.DatasourcesDir, "*.y*ml"))
	if err != nil || len(files) == 0 {
		return nil, d.cfg.DatasourcesDir, fmt.Errorf("no provisioning files in %s, and Grafana's API does not answer", d.cfg.DatasourcesDir)
	}
	var out []datasource
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, f, err
		}
		var p struct {
			Datasources []datasource `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(b, &p); err != nil {
			return nil, f, fmt.Errorf("%s: %v", f, err)
		}
		out = append(out, p.Datasources...)
	}
	from := "provisioning " + d.cfg.DatasourcesDir
	if len(files) == 1 {
		from = "provisioning file " + files[0]
	}
	return out, from, nil
}

// grafanaAPISources lists the data sources through Grafana's API.
func (d *doctor) grafanaAPISources(ctx context.Context, base string) ([]datasource, string, error) {
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(d.cfg.GrafanaUser+":"+d.cfg.GrafanaPassword))
	code, _, body, err := d.get(ctx, base+"/api/datasources", "Authorization", auth)
	from := "Grafana API " + base
	switch {
	case err != nil:
		return nil, from, fmt.Errorf("GET %s/api/datasources: %s", base, shortErr(err))
	case code == 401 || code == 403:
		return nil, from, fmt.Errorf("the credentials were refused (HTTP %d): set GRAFANA_ADMIN_USER/PASSWORD in observability/.env or -grafana-user/-grafana-password", code)
	case code != 200:
		return nil, from, fmt.Errorf("GET %s/api/datasources: HTTP %d %s", base, code, firstLine(body))
	}
	var out []datasource
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, from, fmt.Errorf("GET %s/api/datasources: %v", base, err)
	}
	return out, from, nil
}

// checkView recognises `otelobs view` on Grafana's port (run-local.sh puts
// it there) and checks that it draws from the Prometheus and Jaeger doctor
// checked; it reports whether the view answered.
func (d *doctor) checkView(ctx context.Context, base string) bool {
	code, _, body, err := d.get(ctx, base+"/api/view")
	if err != nil || code != 200 {
		return false
	}
	var v struct {
		View       string `json:"view"`
		Prometheus string `json:"prometheus"`
		Jaeger     string `json:"jaeger"`
	}
	if json.Unmarshal(body, &v) != nil || v.View != "otelobs" {
		return false
	}
	var wrong []string
	for _, c := range []struct{ name, view, want string }{
		{"Prometheus", v.Prometheus, d.cfg.PrometheusURL}, {"Jaeger", v.Jaeger, d.cfg.JaegerURL}} {
		if c.want != "" && !sameEndpoint(c.view, c.want) {
			wrong = append(wrong, fmt.Sprintf("%s %s (doctor checked %s)", c.name, c.view, c.want))
		}
	}
	if len(wrong) > 0 {
		d.add(5, "grafana.view", Fail, fmt.Sprintf("otelobs view at %s draws from %s", base, strings.Join(wrong, ", ")),
			"start the view with -prometheus and -jaeger set to the stack's (run-local.sh does), or point doctor at the view's")
		return true
	}
	d.add(5, "grafana.view", Pass, fmt.Sprintf("otelobs view at %s draws the dashboard from %s and opens exemplars' traces from %s (the Grafana data sources below are for Docker's Grafana)", base, v.Prometheus, v.Jaeger), "")
	return true
}

// sameEndpoint compares two base URLs, localhost and 127.0.0.1 alike.
func sameEndpoint(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimSuffix(strings.ToLower(s), "/")
		return strings.Replace(s, "://localhost:", "://127.0.0.1:", 1)
	}
	return norm(a) == norm(b)
}
