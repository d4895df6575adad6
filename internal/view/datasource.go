package view

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// promSource is how the page names the view's one Prometheus: the data
// source every data source variable resolves to. It is the provisioned
// default Prometheus data source when the provisioning folder has one, so
// that a Grafana link's var-datasource (its uid or name) means the same.
type promSource struct {
	Name, UID string
}

// loadPromSource reads the provisioning folder's Prometheus data source:
// the one marked isDefault, else the first; ok is false when there is none.
func loadPromSource(dir string) (src promSource, ok bool, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		return src, false, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return src, false, err
		}
		var p struct {
			Datasources []struct {
				Name      string `yaml:"name"`
				UID       string `yaml:"uid"`
				Type      string `yaml:"type"`
				IsDefault bool   `yaml:"isDefault"`
			} `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(b, &p); err != nil {
			return src, false, fmt.Errorf("%s: %v", f, err)
		}
		for _, d := range p.Datasources {
			if d.Type != "prometheus" {
				continue
			}
			if !ok || d.IsDefault {
				src, ok = promSource{Name: d.Name, UID: d.UID}, true
			}
			if d.IsDefault {
				return src, true, nil
			}
		}
	}
	return src, ok, nil
}

// dashboardPromSource names the Prometheus from the dashboard's first data
// source variable's current selection, for a view started without the
// provisioning folder; "Prometheus" when there is none.
func dashboardPromSource(d *Dashboard) promSource {
	for _, v := range d.Templating.List {
		if v.Type != TypeDatasourceVar {
			continue
		}
		var text, value string
		_ = json.Unmarshal(v.Current.Text, &text)
		_ = json.Unmarshal(v.Current.Value, &value)
		if text != "" || value != "" {
			if text == "" {
				text = value
			}
			return promSource{Name: text, UID: value}
		}
	}
	return promSource{Name: "Prometheus"}
}

// means reports whether a var-datasource value names this data source (its
// name or uid, or Grafana's "default").
func (p promSource) means(v string) bool {
	return v == "default" || (v != "" && (v == p.Name || v == p.UID))
}
