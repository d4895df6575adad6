package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// exemplarSeries are the series whose exemplars lead to traces: a merge, a
// task and an LLM call.
var exemplarSeries = []string{
	"git_merge_duration_seconds_bucket",
	"task_execution_duration_seconds_bucket",
	"llm_cost_dollars_total",
}

// checkPrometheus is step 2: Prometheus answers, stores exemplars, and
// scrapes the app (pull) or receives OTLP (push).
func (d *doctor) checkPrometheus(ctx context.Context) {
	if d.cfg.PrometheusURL == "" {
		d.add(2, "prometheus.ready", Skip, "Prometheus: no URL given (PROMETHEUS_PORT or -prometheus)", "")
		return
	}
	base := strings.TrimSuffix(d.cfg.PrometheusURL, "/")
	if ok, what := d.probe(ctx, base+"/-/ready"); !ok {
		d.add(2, "prometheus.ready", Fail, fmt.Sprintf("Prometheus: %s/-/ready: %s", base, what),
			"start the stack (docker-compose --env-file observability/.env up -d, or observability/run-local.sh up);\n"+
				"if it runs elsewhere, set PROMETHEUS_PORT in observability/.env or -prometheus")
		return
	}
	d.promUp = true
	d.add(2, "prometheus.ready", Pass, "Prometheus: "+base+" is ready", "")

	var flags map[string]string
	if err := d.promAPI(ctx, "/api/v1/status/flags", &flags); err != nil {
		d.add(2, "prometheus.exemplar_storage", Fail, "Prometheus: cannot read its flags: "+err.Error(), "")
	} else if slices.Contains(strings.Split(flags["enable-feature"], ","), "exemplar-storage") {
		d.exemplarStorage = true
		d.add(2, "prometheus.exemplar_storage", Pass, "Prometheus: exemplar storage is on", "")
	} else {
		d.add(2, "prometheus.exemplar_storage", Fail,
			fmt.Sprintf("Prometheus: exemplar storage is off (--enable-feature=%q)", flags["enable-feature"]),
			"start Prometheus with --enable-feature=exemplar-storage (docker-compose.yml and run-local.sh do);\n"+
				"without it Prometheus drops every exemplar it scrapes or receives")
	}

	if d.mode == ModePush {
		if flags != nil && flags["web.enable-otlp-receiver"] != "true" {
			d.add(2, "prometheus.otlp_receiver", Fail, "Prometheus: the OTLP receiver is off, so the Collector's metrics are refused",
				"start Prometheus with --web.enable-otlp-receiver (docker-compose.yml and run-local.sh do)")
		} else if flags != nil {
			d.add(2, "prometheus.otlp_receiver", Pass, "Prometheus: the OTLP receiver is on", "")
		}
		d.checkPromContract(ctx)
		return
	}
	d.checkScrapeJob(ctx)
}

// checkPromContract looks for the contract series in Prometheus (push
// mode, where the app has no /metrics to read).
func (d *doctor) checkPromContract(ctx context.Context) {
	var res struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
		} `json:"result"`
	}
	q := `group by (__name__) ({__name__=~"git_.+|task_.+|llm_.+|active_.+"})`
	if err := d.promAPI(ctx, "/api/v1/query?query="+url.QueryEscape(q), &res); err != nil {
		d.add(2, "contract.series", Fail, "contract series: "+err.Error(), "")
		return
	}
	names := map[string]bool{}
	for _, r := range res.Result {
		names[r.Metric["__name__"]] = true
	}
	d.checkContract(2, func(n string) bool { return names[n] }, "Prometheus")
}

// checkScrapeJob checks the scrape job's formats and each of its targets.
func (d *doctor) checkScrapeJob(ctx context.Context) {
	job := d.cfg.Job
	var cfg struct {
		YAML string `json:"yaml"`
	}
	var parsed struct {
		ScrapeConfigs []struct {
			JobName         string   `yaml:"job_name"`
			ScrapeProtocols []string `yaml:"scrape_protocols"`
		} `yaml:"scrape_configs"`
	}
	found := false
	if err := d.promAPI(ctx, "/api/v1/status/config", &cfg); err != nil {
		d.add(2, "prometheus.scrape_job", Fail, "Prometheus: cannot read its configuration: "+err.Error(), "")
	} else if err := yaml.Unmarshal([]byte(cfg.YAML), &parsed); err != nil {
		d.add(2, "prometheus.scrape_job", Fail, "Prometheus: its configuration does not parse: "+err.Error(), "")
	} else {
		for _, sc := range parsed.ScrapeConfigs {
			if sc.JobName != job {
				continue
			}
			found = true
			if len(sc.ScrapeProtocols) > 0 && strings.HasPrefix(sc.ScrapeProtocols[0], "PrometheusText") {
				d.scrapeTextFirst = true
				d.add(2, "prometheus.scrape_job", Fail,
					fmt.Sprintf("Prometheus: job %s asks for %s first, a format without exemplars", job, sc.ScrapeProtocols[0]),
					"put OpenMetrics first: scrape_protocols: [OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText1.0.0, PrometheusText0.0.4]\n"+
						"(observability/configure.sh writes it), then restart Prometheus")
			} else {
				d.add(2, "prometheus.scrape_job", Pass,
					fmt.Sprintf("Prometheus: job %s asks for a format with exemplars first (%s)", job, firstOr(sc.ScrapeProtocols, "the default")), "")
			}
		}
		if !found {
			d.add(2, "prometheus.scrape_job", Fail, fmt.Sprintf("Prometheus: no scrape job %s", job),
				"generate prometheus.yml with observability/configure.sh and restart Prometheus (docker-compose restart prometheus)")
			return
		}
	}

	var targets struct {
		ActiveTargets []struct {
			ScrapePool string `json:"scrapePool"`
			ScrapeURL  string `json:"scrapeUrl"`
			LastError  string `json:"lastError"`
			Health     string `json:"health"`
		} `json:"activeTargets"`
	}
	if err := d.promAPI(ctx, "/api/v1/targets?state=active&scrapePool="+url.QueryEscape(job), &targets); err != nil {
		d.add(2, "prometheus.target", Fail, "Prometheus: cannot list its targets: "+err.Error(), "")
		return
	}
	n := 0
	for _, t := range targets.ActiveTargets {
		if t.ScrapePool != job {
			continue
		}
		n++
		switch t.Health {
		case "up":
			d.add(2, "prometheus.target", Pass, fmt.Sprintf("Prometheus: target %s is UP", t.ScrapeURL), "")
		case "down":
			d.targetDown = true
			d.add(2, "prometheus.target", Fail,
				fmt.Sprintf("Prometheus: target %s is DOWN: %s", t.ScrapeURL, t.LastError), diagnoseDown(t.ScrapeURL, t.LastError))
		default:
			d.add(2, "prometheus.target", Fail, fmt.Sprintf("Prometheus: target %s not scraped yet", t.ScrapeURL),
				"wait one scrape interval (PROMETHEUS_SCRAPE_INTERVAL) and run doctor again")
		}
	}
	if n == 0 {
		d.add(2, "prometheus.target", Fail, fmt.Sprintf("Prometheus: job %s has no targets", job),
			"with several API_HOST values the targets are in observability/targets/agent-orchestrator.json: run observability/configure.sh again")
	}
}

// diagnoseDown says why Prometheus cannot scrape a target, from its error
// and from what this machine can reach.
func diagnoseDown(scrapeURL, lastError string) string {
	u, err := url.Parse(scrapeURL)
	if err != nil {
		return "the target URL does not parse; check API_HOST and API_PORT"
	}
	host, port := u.Hostname(), u.Port()
	addrs := localAddrs()
	here := "this machine's addresses: " + strings.Join(addrs, ", ")
	if len(addrs) == 0 {
		here = "this machine has no address but loopback"
	}
	redo := "then run observability/configure.sh and restart Prometheus"
	reach := func(h string) bool {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(h, port), 2*time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	e := strings.ToLower(lastError)
	switch {
	case strings.Contains(e, "connection refused"):
		switch {
		case reach(host) && isLoopback(host):
			return fmt.Sprintf("the app answers here at %s:%s, so Prometheus runs in a container, where %s is the container itself:\n"+
				"set API_HOST=host.docker.internal (Docker Desktop, or Linux with the compose file's host-gateway), 172.17.0.1 (Linux bridge)\n"+
				"or this machine's address (%s); %s. On Linux, bind the app there too (the example server: ORCH_ADDR=172.17.0.1:%s):\n"+
				"the containers do not reach this machine's loopback", host, port, host, strings.Join(addrs, ", "), redo, port)
		case reach(host):
			return fmt.Sprintf("this machine reaches %s:%s but Prometheus is refused: a firewall rejects it (e.g. sudo ufw allow %s)", host, port, port)
		case host != "127.0.0.1" && host != "localhost" && reach("127.0.0.1"):
			bind := net.JoinHostPort(host, port) // the example server takes an IP address only
			if net.ParseIP(host) == nil {
				bind = fmt.Sprintf("<%s's IP address>:%s", host, port)
			}
			return fmt.Sprintf("the app listens on loopback only (127.0.0.1:%s) while Prometheus scrapes %s:%s:\n"+
				"make it listen on the address Prometheus scrapes (the example server: ORCH_ADDR=%s), or on every interface (ORCH_ADDR=:%s;\n"+
				"its API has no authentication: see docs/security.md); for a separate metrics listener OTEL_EXPORTER_PROMETHEUS_HOST=%s",
				port, host, port, bind, port, host)
		}
		if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() && !slices.Contains(addrs, ip.String()) {
			return fmt.Sprintf("nothing listens at %s:%s, and %s is not an address of this machine (%s):\n"+
				"if the app runs here, set API_HOST to one of them; %s", host, port, host, strings.Join(addrs, ", "), redo)
		}
		return fmt.Sprintf("nothing listens at %s:%s: start the API (go run ./examples/server), or fix API_HOST/API_PORT; %s", host, port, here)
	case strings.Contains(e, "no such host"):
		return fmt.Sprintf("Prometheus cannot resolve %s: on Linux Docker map host.docker.internal with extra_hosts: host.docker.internal:host-gateway\n"+
			"(docker-compose.yml does), or use an IP address (%s); %s", host, here, redo)
	case strings.Contains(e, "timeout") || strings.Contains(e, "deadline exceeded"):
		return fmt.Sprintf("no answer within the scrape timeout: a firewall drops port %s (e.g. sudo ufw allow %s), or %s is not the app's machine (%s)",
			port, port, host, here)
	case strings.Contains(e, "no route to host") || strings.Contains(e, "network is unreachable"):
		return fmt.Sprintf("%s is unreachable from Prometheus: a wrong IP? %s; %s", host, here, redo)
	case strings.Contains(e, "status 404"):
		return "the app has no /metrics: mount tel.MetricsHandler() on GET /metrics; with OTEL_METRICS_EXPORTER=otlp the app pushes and needs no scrape job"
	case strings.Contains(e, "http status"):
		return "the app answered with an error: see its log"
	}
	return "see the error above; " + here
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// localAddrs returns this machine's non-loopback unicast addresses.
func localAddrs() []string {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			out = append(out, n.IP.String())
		}
	}
	return out
}

func firstOr(v []string, def string) string {
	if len(v) == 0 {
		return def
	}
	return v[0]
}

// checkExemplars is step 3: query_exemplars returns trace ids for a merge,
// a task and an LLM call.
func (d *doctor) checkExemplars(ctx context.Context) {
	if !d.promUp {
		d.add(3, "exemplars", Skip, "exemplars: Prometheus is not reachable (step 2)", "")
		return
	}
	type exemplar struct {
		Labels    map[string]string `json:"labels"`
		Timestamp float64           `json:"timestamp"`
	}
	var newest []exemplar
	// A minute ahead: Unix seconds truncate, and the app's clock may run
	// ahead of this machine's.
	end := time.Now().Add(time.Minute)
	start := end.Add(-time.Hour - time.Minute)
	for _, q := range exemplarSeries {
		id := "exemplars." + strings.TrimSuffix(q, "_bucket")
		var count struct {
			Result []json.RawMessage `json:"result"`
		}
		if err := d.promAPI(ctx, "/api/v1/query?query="+url.QueryEscape("count("+q+")"), &count); err != nil {
			d.add(3, id, Fail, fmt.Sprintf("exemplars: %s: %v", q, err), "")
			continue
		}
		if len(count.Result) == 0 {
			d.add(3, id, Fail, fmt.Sprintf("exemplars: no %s samples in Prometheus yet", q), d.whyNoSamples())
			continue
		}
		var res []struct {
			Exemplars []exemplar `json:"exemplars"`
		}
		path := fmt.Sprintf("/api/v1/query_exemplars?query=%s&start=%d&end=%d", url.QueryEscape(q), start.Unix(), end.Unix())
		if err := d.promAPI(ctx, path, &res); err != nil {
			d.add(3, id, Fail, fmt.Sprintf("exemplars: %s: %v", q, err), "")
			continue
		}
		var all []exemplar
		labelNames := map[string]bool{}
		for _, r := range res {
			for _, e := range r.Exemplars {
				all = append(all, e)
				for k := range e.Labels {
					labelNames[k] = true
				}
			}
		}
		var withID []exemplar
		for _, e := range all {
			if e.Labels["trace_id"] != "" {
				withID = append(withID, e)
			}
		}
		switch {
		case len(withID) > 0:
			d.add(3, id, Pass, fmt.Sprintf("exemplars: %d on %s with trace_id", len(withID), q), "")
			newest = append(newest, withID...)
		case len(all) > 0:
			d.add(3, id, Fail, fmt.Sprintf("exemplars: %d on %s, none with trace_id (labels: %s)", len(all), q, strings.Join(sortedKeys(labelNames), ", ")),
				"the OpenTelemetry SDK writes trace_id; the app's exemplars are named otherwise, and Grafana's link (name: trace_id) will not match")
		default:
			d.add(3, id, Fail, fmt.Sprintf("exemplars: none on %s in the last hour", q), d.whyNoExemplars())
		}
	}
	slices.SortFunc(newest, func(a, b exemplar) int {
		switch {
		case a.Timestamp > b.Timestamp:
			return -1
		case a.Timestamp < b.Timestamp:
			return 1
		}
		return 0
	})
	seen := map[string]bool{}
	for _, e := range newest {
		if id := e.Labels["trace_id"]; !seen[id] {
			seen[id] = true
			d.traceIDs = append(d.traceIDs, id)
		}
	}
}

// whyNoSamples explains a series missing from Prometheus.
func (d *doctor) whyNoSamples() string {
	switch {
	case d.mode == ModePull && d.targetDown:
		return "Prometheus cannot scrape the app (step 2): fix the target first"
	case d.mode == ModePush:
		return "nothing arrived over OTLP: check the Collector (step 6), the app's OTEL_EXPORTER_OTLP_ENDPOINT,\n" +
			"and run a task (POST /runs); metrics are pushed every OTEL_METRIC_EXPORT_INTERVAL"
	}
	return "run a task (POST /runs) and wait one scrape interval"
}

// whyNoExemplars explains an empty query_exemplars from the earlier
// checks.
func (d *doctor) whyNoExemplars() string {
	switch {
	case !d.exemplarStorage:
		return "exemplar storage is off (step 2): start Prometheus with --enable-feature=exemplar-storage"
	case d.mode == ModePull && d.appUp && !d.appOpenMetrics:
		return "the app's /metrics does not speak OpenMetrics (step 1), the only text format with exemplars"
	case d.mode == ModePull && d.scrapeTextFirst:
		return "the scrape job asks for the plain text format first (step 2), which carries no exemplars: put OpenMetrics first"
	case d.mode == ModePull && d.appUp && d.appExemplars == 0:
		return "the app has no exemplars yet (step 1): measurements need a sampled span; run a task"
	case d.mode == ModePull:
		return "the app has exemplars but Prometheus has none: wait one scrape interval, and check the scrape job asks for OpenMetrics first (step 2)"
	}
	return "push mode: the Collector must send metrics to Prometheus's OTLP receiver (collector/otel-collector.yaml does);\n" +
		"the app needs sampled spans (OTEL_TRACES_SAMPLER) and OTEL_METRICS_EXEMPLAR_FILTER=trace_based or always_on"
}
