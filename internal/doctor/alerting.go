package doctor

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// checkAlerting is step 7: the alerting chain. Prometheus has its rules
// loaded and healthy and knows an Alertmanager, its notifications reach
// Alertmanager, Alertmanager answers and delivers, and the receivers' secret
// files exist.
func (d *doctor) checkAlerting(ctx context.Context) {
	if d.promUp {
		d.checkRules(ctx)
		d.checkAlertmanagers(ctx)
	} else {
		d.add(7, "alerting.rules", Skip, "alerting: Prometheus is not reachable (step 2)", "")
	}
	d.checkAlertmanager(ctx)
	d.checkSecrets()
}

// checkRules: at least one alerting rule is loaded, and no rule fails to
// evaluate.
func (d *doctor) checkRules(ctx context.Context) {
	var data struct {
		Groups []struct {
			Name  string `json:"name"`
			File  string `json:"file"`
			Rules []struct {
				Name      string `json:"name"`
				Type      string `json:"type"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := d.promAPI(ctx, "/api/v1/rules", &data); err != nil {
		d.add(7, "alerting.rules", Fail, "alerting: Prometheus's rules cannot be read: "+shortErr(err), "")
		return
	}
	alerts := 0
	var broken []string
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			if r.Type == "alerting" {
				alerts++
			}
			if r.Health == "err" {
				broken = append(broken, fmt.Sprintf("%s (group %s): %s", r.Name, g.Name, firstLine([]byte(r.LastError))))
			}
		}
	}
	switch {
	case alerts == 0:
		d.add(7, "alerting.rules", Fail, "alerting: Prometheus has no alert rules loaded: no alert can fire",
			"prometheus.yml needs rule_files: [alerts.yml] with observability/alerts.yml beside it (configure.sh writes it,\n"+
				"docker-compose.yml mounts both); check the file with promtool check rules observability/alerts.yml,\n"+
				"then reload Prometheus: curl -X POST http://localhost:PROMETHEUS_PORT/-/reload")
	case len(broken) > 0:
		d.add(7, "alerting.rules", Fail, fmt.Sprintf("alerting: %d rules fail to evaluate, so their alerts cannot fire: %s",
			len(broken), strings.Join(broken, "; ")),
			"see the rule's error on Prometheus's Rules page; after editing alerts.yml: promtool check rules observability/alerts.yml")
	default:
		d.add(7, "alerting.rules", Pass, fmt.Sprintf("alerting: %d alert rules loaded, all evaluating", alerts), "")
	}
}

// checkAlertmanagers: Prometheus sends alerts to an Alertmanager, and its
// sends do not fail.
func (d *doctor) checkAlertmanagers(ctx context.Context) {
	var data struct {
		Active []struct {
			URL string `json:"url"`
		} `json:"activeAlertmanagers"`
	}
	if err := d.promAPI(ctx, "/api/v1/alertmanagers", &data); err != nil {
		d.add(7, "alerting.alertmanagers", Fail, "alerting: Prometheus's Alertmanagers cannot be read: "+shortErr(err), "")
		return
	}
	if len(data.Active) == 0 {
		d.add(7, "alerting.alertmanagers", Fail, "alerting: Prometheus sends alerts to no Alertmanager: firing alerts go nowhere",
			"prometheus.yml needs an alerting: section: configure.sh writes it from ALERTMANAGER_HOST (and ALERTMANAGER_PORT)\n"+
				"in observability/.env; run ./observability/configure.sh and reload Prometheus")
		return
	}
	var urls []string
	for _, a := range data.Active {
		urls = append(urls, a.URL)
	}
	d.add(7, "alerting.alertmanagers", Pass, "alerting: Prometheus sends alerts to "+strings.Join(urls, ", "), "")

	// Prometheus's own counters of what it sent and failed to send.
	code, _, body, err := d.get(ctx, strings.TrimSuffix(d.cfg.PrometheusURL, "/")+"/metrics")
	if err != nil || code != 200 {
		d.add(7, "alerting.prometheus_sends", Skip, "alerting: Prometheus's own /metrics does not answer", "")
		return
	}
	m := parseSamples(body)
	errs, sent, dropped := m.sum("prometheus_notifications_errors_total"), m.sum("prometheus_notifications_sent_total"),
		m.sum("prometheus_notifications_dropped_total")
	if errs > 0 || dropped > 0 {
		d.add(7, "alerting.prometheus_sends", Fail, fmt.Sprintf(
			"alerting: since Prometheus started, %g sends of alerts to %s failed and %g alerts were dropped (%g sent)",
			errs, strings.Join(urls, ", "), dropped, sent),
			"Prometheus cannot reach that Alertmanager: is it up, and is ALERTMANAGER_HOST the address Prometheus reaches it at\n"+
				"(alertmanager:9093 in docker-compose, 127.0.0.1 with run-local.sh)? Prometheus's log names the error.\n"+
				"The counts start again when Prometheus restarts.")
		return
	}
	d.add(7, "alerting.prometheus_sends", Pass, fmt.Sprintf("alerting: Prometheus's alert sends have not failed (%g sent)", sent), "")
}

// checkAlertmanager: Alertmanager answers, and its notifications do not
// fail.
func (d *doctor) checkAlertmanager(ctx context.Context) {
	if d.cfg.AlertmanagerURL == "" {
		d.add(7, "alerting.alertmanager", Skip, "alerting: no Alertmanager URL given (ALERTMANAGER_PORT or -alertmanager)", "")
		return
	}
	base := strings.TrimSuffix(d.cfg.AlertmanagerURL, "/")
	if ok, what := d.probe(ctx, base+"/-/ready"); !ok {
		d.add(7, "alerting.alertmanager", Fail, fmt.Sprintf("alerting: Alertmanager does not answer at %s: %s; alerts are not delivered", base, what),
			"start it (docker-compose --env-file observability/.env up -d alertmanager, or observability/run-local.sh up),\n"+
				"then: amtool check-config observability/alertmanager.yml, and its log")
		return
	}
	code, _, body, err := d.get(ctx, base+"/metrics")
	if err != nil || code != 200 {
		d.add(7, "alerting.alertmanager", Pass, "alerting: Alertmanager answers at "+base+" (its /metrics does not)", "")
		return
	}
	m := parseSamples(body)
	// Per integration (the counter has a series per reason too).
	failed := map[string]float64{}
	for _, s := range m["alertmanager_notifications_failed_total"] {
		failed[s.labels["integration"]] += s.value
	}
	var failing []string
	for _, integration := range sortedKeys(failed) {
		if n := failed[integration]; n > 0 {
			total := m.sumWhere("alertmanager_notifications_total", "integration", integration)
			failing = append(failing, fmt.Sprintf("%g of %g %s notifications", n, total, integration))
		}
	}
	if len(failing) > 0 {
		d.add(7, "alerting.alertmanager", Fail, "alerting: since Alertmanager started, "+strings.Join(failing, ", ")+" failed",
			"Alertmanager's log names the receiver and the answer it got: check its URL file in observability/secrets/\n"+
				"(see the secrets check below) and that the endpoint accepts it. The counts start again when Alertmanager restarts.")
		return
	}
	d.add(7, "alerting.alertmanager", Pass, fmt.Sprintf("alerting: Alertmanager answers at %s; no notification has failed (%g sent)",
		base, m.sum("alertmanager_notifications_total")), "")
}

// fileSettings returns the *_file settings of a parsed YAML document (a
// receiver's api_url_file, url_file, …), as setting and path pairs, in
// document order.
func fileSettings(n *yaml.Node) [][2]string {
	var out [][2]string
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && strings.HasSuffix(k.Value, "_file") {
				out = append(out, [2]string{k.Value, v.Value})
			}
		}
	}
	for _, c := range n.Content {
		out = append(out, fileSettings(c)...)
	}
	return out
}

// alertmanagerSecrets is where docker-compose.yml mounts
// observability/secrets/ in the Alertmanager container.
const alertmanagerSecrets = "/etc/alertmanager/secrets/"

// checkSecrets: each receiver's secret file that alertmanager.yml names
// exists in the secrets folder and holds an http(s) URL. Its content is
// never printed.
func (d *doctor) checkSecrets() {
	if d.cfg.AlertmanagerConfig == "" || d.cfg.SecretsDir == "" {
		d.add(7, "alerting.secrets", Skip, "alerting: no alertmanager.yml or secrets folder given", "")
		return
	}
	conf, err := os.ReadFile(d.cfg.AlertmanagerConfig)
	if err != nil {
		d.add(7, "alerting.secrets", Skip, "alerting: "+err.Error(), "")
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(conf, &doc); err != nil {
		d.add(7, "alerting.secrets", Fail, "alerting: "+d.cfg.AlertmanagerConfig+" does not parse: "+err.Error(),
			"check it with: amtool check-config "+d.cfg.AlertmanagerConfig)
		return
	}
	var missing, bad, ok []string
	for _, m := range fileSettings(&doc) {
		setting, p := m[0], m[1]
		name, found := strings.CutPrefix(p, alertmanagerSecrets)
		if !found || name == "" || strings.Contains(name, "/") {
			continue // not one of the mounted secrets
		}
		local := filepath.Join(d.cfg.SecretsDir, path.Clean(name))
		b, err := os.ReadFile(local)
		switch {
		case err != nil:
			missing = append(missing, local+" ("+setting+")")
		case !isHTTPURL(strings.TrimSpace(string(b))):
			bad = append(bad, local+" ("+setting+", "+strconv.Itoa(len(b))+" bytes)")
		default:
			ok = append(ok, name)
		}
	}
	switch {
	case len(bad) > 0:
		d.add(7, "alerting.secrets", Fail, "alerting: not one http(s) URL in "+strings.Join(bad, ", ")+": those notifications fail",
			"write the receiver's URL alone in the file, e.g. printf '%s\\n' 'https://hooks.slack.com/services/…' > FILE\n"+
				"(observability/secrets/README.md), then restart Alertmanager")
	case len(missing) > 0:
		d.add(7, "alerting.secrets", Skip, "alerting: no "+strings.Join(missing, ", ")+": alerts routed there are not delivered",
			"for alerts to arrive, write each receiver's URL in its file (observability/secrets/README.md; the folder is git-ignored),\n"+
				"then restart Alertmanager")
	case len(ok) == 0:
		d.add(7, "alerting.secrets", Skip, "alerting: "+d.cfg.AlertmanagerConfig+" names no secret file of "+alertmanagerSecrets, "")
	default:
		d.add(7, "alerting.secrets", Pass, "alerting: the receivers' URL files are there: "+strings.Join(ok, ", "), "")
	}
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(s, " \n\t")
}

// samples are a /metrics page's counters: by series name, a value per
// label set.
type samples map[string][]sample

type sample struct {
	labels map[string]string
	value  float64
}

// parseSamples reads the counters of a /metrics page in the Prometheus text
// format, with client_golang's own parser; a page it cannot read gives none.
func parseSamples(b []byte) samples {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, _ := p.TextToMetricFamilies(bytes.NewReader(b))
	out := samples{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			s := sample{labels: map[string]string{}, value: m.GetCounter().GetValue()}
			if m.Counter == nil {
				s.value = m.GetUntyped().GetValue() + m.GetGauge().GetValue()
			}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			out[name] = append(out[name], s)
		}
	}
	return out
}

func (s samples) sum(name string) float64 {
	var t float64
	for _, x := range s[name] {
		t += x.value
	}
	return t
}

func (s samples) sumWhere(name, label, value string) float64 {
	var t float64
	for _, x := range s[name] {
		if x.labels[label] == value {
			t += x.value
		}
	}
	return t
}
