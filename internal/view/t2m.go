package view

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// tracesToMetrics is the Jaeger data source's tracesToMetrics setting in
// Grafana's provisioning: the trace page offers the same queries Grafana's
// span menu does, over the trace's time window.
type tracesToMetrics struct {
	StartShift string `yaml:"spanStartTimeShift"`
	EndShift   string `yaml:"spanEndTimeShift"`
	Tags       []struct {
		Key   string `yaml:"key"`
		Value string `yaml:"value"`
	} `yaml:"tags"`
	Queries []struct {
		Name  string `yaml:"name"`
		Query string `yaml:"query"`
	} `yaml:"queries"`
}

// loadTracesToMetrics reads the provisioning folder's first Jaeger data
// source with tracesToMetrics; nil when there is none.
func loadTracesToMetrics(dir string) (*tracesToMetrics, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var p struct {
			Datasources []struct {
				Type     string `yaml:"type"`
				JSONData struct {
					TracesToMetrics *tracesToMetrics `yaml:"tracesToMetrics"`
				} `yaml:"jsonData"`
			} `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		for _, d := range p.Datasources {
			if d.Type == "jaeger" && d.JSONData.TracesToMetrics != nil {
				t := d.JSONData.TracesToMetrics
				for _, s := range []string{t.StartShift, t.EndShift} {
					if _, err := shift(s); err != nil {
						return nil, fmt.Errorf("%s: tracesToMetrics: %v", f, err)
					}
				}
				return t, nil
			}
		}
	}
	return nil, nil
}

// shift reads a time shift such as "-5m" or "5m".
func shift(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	neg := strings.HasPrefix(s, "-")
	d, err := model.ParseDuration(strings.TrimPrefix(s, "-"))
	if err != nil {
		return 0, fmt.Errorf("time shift %q: %v", s, err)
	}
	if neg {
		return -time.Duration(d), nil
	}
	return time.Duration(d), nil
}

// links are the queries with $__tags set from the trace's root span (its
// service and attributes), over the trace's window.
func (t *tracesToMetrics) links(v *traceView, tr *jaegerTrace) []link {
	attrs := map[string]string{}
	if len(tr.Spans) > 0 {
		root := tr.Spans[0]
		for _, s := range tr.Spans {
			if s.SpanID == v.RootID { // the root buildTraceView found
				root = s
				break
			}
		}
		if p, ok := tr.Processes[root.ProcessID]; ok {
			attrs["service.name"] = p.ServiceName
			for _, kv := range p.Tags {
				attrs[kv.Key] = kv.String()
			}
		}
		for _, kv := range root.Tags {
			attrs[kv.Key] = kv.String()
		}
	}
	var matchers []string
	for _, tag := range t.Tags {
		label := tag.Value
		if label == "" {
			label = tag.Key
		}
		if val, ok := attrs[tag.Key]; ok && model.LegacyValidation.IsValidLabelName(label) {
			matchers = append(matchers, label+`="`+promString(val)+`"`)
		}
	}
	start, _ := shift(t.StartShift)
	end, _ := shift(t.EndShift)
	from, to := v.Start.Add(start), v.Start.Add(v.Duration+end)
	var out []link
	for _, q := range t.Queries {
		expr := strings.ReplaceAll(q.Query, "$__tags", strings.Join(matchers, ", "))
		u := url.Values{"expr": {expr}, "from": {strconv.FormatInt(from.UnixMilli(), 10)},
			"to": {strconv.FormatInt(to.UnixMilli(), 10)}, "refresh": {"off"}}
		out = append(out, link{Label: q.Name, Href: "/explore?" + u.Encode()})
	}
	return out
}
