package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Dashboard is the part of a Grafana dashboard (schema 39) the view draws.
// It is read from the same JSON file Grafana provisions, so the two draw the
// same panels.
type Dashboard struct {
	UID         string   `json:"uid"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	// Refresh is the default auto-refresh interval ("10s"); empty: off.
	Refresh string `json:"refresh"`
	// Time is the default time range ("now-1h" to "now").
	Time struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Annotations struct {
		List []Annotation `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Panels []Panel `json:"panels"`

	// Grafana's bookkeeping, read and not used.
	SchemaVersion int  `json:"schemaVersion"`
	Version       int  `json:"version"`
	Editable      bool `json:"editable"`
}

// Annotation is a Prometheus annotation query: each series it returns is
// drawn as a band over the time series panels while its value is present.
type Annotation struct {
	Name            string          `json:"name"`
	Datasource      json.RawMessage `json:"datasource"`
	Enable          bool            `json:"enable"`
	Expr            string          `json:"expr"`
	IconColor       string          `json:"iconColor"`
	TitleFormat     string          `json:"titleFormat"`
	TextFormat      string          `json:"textFormat"`
	UseValueForTime bool            `json:"useValueForTime"`
	Step            string          `json:"step"`
}

// Variable is a dashboard variable: of type "query" with a label_values()
// definition, or of type "datasource" (its query is the plugin type,
// "prometheus"), which the view resolves to its one Prometheus.
type Variable struct {
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Type       string          `json:"type"`
	Datasource json.RawMessage `json:"datasource"`
	Query      json.RawMessage `json:"query"` // a string, or {"query": …}
	Definition string          `json:"definition"`
	IncludeAll bool            `json:"includeAll"`
	Multi      bool            `json:"multi"`
	// AllValue replaces the variable when "All" is selected; empty: the
	// alternation of every value.
	AllValue string `json:"allValue"`
	Current  struct {
		Text  json.RawMessage `json:"text"`
		Value json.RawMessage `json:"value"`
	} `json:"current"`
	Refresh int `json:"refresh"`
}

// Panel is one panel of the dashboard.
type Panel struct {
	ID          int             `json:"id"`
	Title       string          `json:"title"`
	Type        string          `json:"type"`
	Description string          `json:"description"`
	Datasource  json.RawMessage `json:"datasource"`
	GridPos     struct {
		H int `json:"h"`
		W int `json:"w"`
		X int `json:"x"`
		Y int `json:"y"`
	} `json:"gridPos"`
	Targets     []Target     `json:"targets"`
	FieldConfig FieldConfig  `json:"fieldConfig"`
	Options     PanelOptions `json:"options"`
}

// Target is one PromQL query of a panel.
type Target struct {
	Datasource   json.RawMessage `json:"datasource"`
	Expr         string          `json:"expr"`
	LegendFormat string          `json:"legendFormat"`
	// Exemplar overlays the exemplars of the query's series.
	Exemplar bool   `json:"exemplar"`
	RefID    string `json:"refId"`
	Hide     bool   `json:"hide"`
}

// FieldConfig holds the panel's defaults and the overrides for some series.
type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []Override    `json:"overrides"`
}

// FieldDefaults are the display settings of every series of a panel.
type FieldDefaults struct {
	Unit       string   `json:"unit"`
	Min        *float64 `json:"min"`
	Max        *float64 `json:"max"`
	Decimals   *int     `json:"decimals"`
	Thresholds struct {
		Mode  string          `json:"mode"` // absolute
		Steps []ThresholdStep `json:"steps"`
	} `json:"thresholds"`
	Color  Color  `json:"color"`
	Custom Custom `json:"custom"`
}

// ThresholdStep is a colour from Value up; the first step's Value is null
// (minus infinity).
type ThresholdStep struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

// Color is how series are coloured: "palette-classic" (one colour per
// series), "thresholds" (the colour of the base threshold) or "fixed".
type Color struct {
	Mode       string `json:"mode"`
	FixedColor string `json:"fixedColor"`
}

// Custom holds the time series' drawing options.
type Custom struct {
	// DrawStyle is "line" (the default) or "bars".
	DrawStyle   string   `json:"drawStyle"`
	FillOpacity *float64 `json:"fillOpacity"`
	LineWidth   *float64 `json:"lineWidth"`
	Stacking    struct {
		Mode string `json:"mode"` // "normal" stacks; "none" or empty does not
	} `json:"stacking"`
	ThresholdsStyle struct {
		Mode string `json:"mode"` // "line", "dashed" draw them; "off" or empty does not
	} `json:"thresholdsStyle"`
	// AxisPlacement "right" draws the series against a second axis.
	AxisPlacement string `json:"axisPlacement"`
}

// Override changes the display of the series a matcher selects.
type Override struct {
	Matcher struct {
		// ID is byName (the legend), byRegexp or byFrameRefID (the target).
		ID      string `json:"id"`
		Options string `json:"options"`
	} `json:"matcher"`
	Properties []Property `json:"properties"`
}

// Property is one overridden setting: color, unit, displayName,
// custom.axisPlacement, custom.drawStyle, custom.fillOpacity or
// custom.stacking.
type Property struct {
	ID    string          `json:"id"`
	Value json.RawMessage `json:"value"`
}

// PanelOptions are the gauge and stat options the view honours.
type PanelOptions struct {
	ShowThresholdMarkers *bool `json:"showThresholdMarkers"`
	// ColorMode of a stat: "value" (the default), "background" or "none".
	ColorMode string `json:"colorMode"`
	Legend    struct {
		ShowLegend  *bool  `json:"showLegend"`
		DisplayMode string `json:"displayMode"`
	} `json:"legend"`
}

// Panel types the view draws.
const (
	TypeGauge      = "gauge"
	TypeStat       = "stat"
	TypeTimeSeries = "timeseries"
)

var supportedTypes = map[string]bool{TypeGauge: true, TypeStat: true, TypeTimeSeries: true}

// Supported reports whether the view can draw the panel's type; other panels
// are drawn as "unsupported panel type X", never dropped.
func (p Panel) Supported() bool { return supportedTypes[p.Type] }

var (
	knownProperties = map[string]bool{"color": true, "unit": true, "displayName": true,
		"custom.axisPlacement": true, "custom.drawStyle": true, "custom.fillOpacity": true, "custom.stacking": true}
	knownMatchers = map[string]bool{"byName": true, "byRegexp": true, "byFrameRefID": true}
	labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)
)

// LoadDashboard reads a dashboard file. Options the view does not know are
// ignored; Check lists them.
func LoadDashboard(path string) (*Dashboard, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseDashboard(b)
}

// ParseDashboard decodes a dashboard's JSON and checks what the view needs
// to draw it: every panel has a title and a grid position, every variable a
// label_values() query.
func ParseDashboard(b []byte) (*Dashboard, error) {
	var d Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	if len(d.Panels) == 0 {
		return nil, fmt.Errorf("dashboard %q has no panels", d.Title)
	}
	var errs []string
	ids := map[int]bool{}
	for i, p := range d.Panels {
		where := fmt.Sprintf("panel %d (%q)", i, p.Title)
		switch {
		case p.Title == "":
			errs = append(errs, fmt.Sprintf("panel %d has no title", i))
		case p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.Y < 0 || p.GridPos.X+p.GridPos.W > 24:
			errs = append(errs, fmt.Sprintf("%s: gridPos %+v is not within the 24-column grid", where, p.GridPos))
		case ids[p.ID]:
			errs = append(errs, fmt.Sprintf("%s: id %d is used twice", where, p.ID))
		}
		ids[p.ID] = true
	}
	for _, v := range d.Templating.List {
		if v.Type == TypeDatasourceVar {
			continue
		}
		if _, _, err := v.labelValues(); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("dashboard %q: %s", d.Title, strings.Join(errs, "; "))
	}
	return &d, nil
}

// Check returns what of the dashboard the view cannot draw as Grafana
// would: unsupported panel types, override matchers and properties, and
// variable types. The shipped dashboard has none.
func (d *Dashboard) Check() []string {
	var out []string
	for _, p := range d.Panels {
		if !p.Supported() {
			out = append(out, fmt.Sprintf("panel %q: unsupported panel type %s", p.Title, p.Type))
		}
		def := p.FieldConfig.Defaults
		if def.Custom.Stacking.Mode == "percent" {
			out = append(out, fmt.Sprintf("panel %q: percent stacking is drawn as normal stacking", p.Title))
		}
		if def.Thresholds.Mode == "percentage" {
			out = append(out, fmt.Sprintf("panel %q: percentage thresholds are read as absolute values", p.Title))
		}
		if p.Type == TypeGauge && def.Max == nil {
			out = append(out, fmt.Sprintf("panel %q: a gauge without max is drawn from min (or 0) to 100", p.Title))
		}
		for _, o := range p.FieldConfig.Overrides {
			if !knownMatchers[o.Matcher.ID] {
				out = append(out, fmt.Sprintf("panel %q: unsupported override matcher %s", p.Title, o.Matcher.ID))
			}
			for _, pr := range o.Properties {
				if !knownProperties[pr.ID] {
					out = append(out, fmt.Sprintf("panel %q: unsupported override property %s", p.Title, pr.ID))
				}
			}
		}
	}
	for _, v := range d.Templating.List {
		switch v.Type {
		case TypeQueryVar:
		case TypeDatasourceVar:
			if pt := v.pluginType(); pt != "prometheus" {
				out = append(out, fmt.Sprintf("variable %s: data sources of type %q: the view draws from its one Prometheus", v.Name, pt))
			}
		default:
			out = append(out, fmt.Sprintf("variable %s: unsupported type %s", v.Name, v.Type))
		}
	}
	return append(out, d.checkDatasources()...)
}

// Variable types the view resolves.
const (
	TypeQueryVar      = "query"
	TypeDatasourceVar = "datasource"
)

// checkDatasources notes each data source reference the view cannot honour:
// of another type than prometheus, or naming a variable that is not a data
// source variable of the dashboard. Every panel is drawn from the view's
// one Prometheus whatever its reference says.
func (d *Dashboard) checkDatasources() []string {
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		if v.Type == TypeDatasourceVar {
			vars[v.Name] = true
		}
	}
	var out []string
	check := func(where string, raw json.RawMessage) {
		if msg := datasourceProblem(raw, vars); msg != "" {
			out = append(out, where+": "+msg)
		}
	}
	for _, a := range d.Annotations.List {
		check(fmt.Sprintf("annotation %q", a.Name), a.Datasource)
	}
	for _, v := range d.Templating.List {
		if v.Type != TypeDatasourceVar {
			check("variable "+v.Name, v.Datasource)
		}
	}
	for _, p := range d.Panels {
		check(fmt.Sprintf("panel %q", p.Title), p.Datasource)
		for _, t := range p.Targets {
			check(fmt.Sprintf("panel %q target %s", p.Title, t.RefID), t.Datasource)
		}
	}
	return out
}

// datasourceVarRef is a data source uid (or name) that is a variable:
// $name, ${name} or [[name]].
var datasourceVarRef = regexp.MustCompile(`^(?:\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}|\[\[([a-zA-Z_][a-zA-Z0-9_]*)\]\]|\$([a-zA-Z_][a-zA-Z0-9_]*))$`)

// datasourceProblem says what is wrong with one data source reference
// (absent, a name, or {"type", "uid"}); empty: nothing.
func datasourceProblem(raw json.RawMessage, vars map[string]bool) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "" // the default data source
	}
	var ref struct{ Type, UID string }
	var name string
	if json.Unmarshal(raw, &name) == nil {
		ref.UID = name
	} else if err := json.Unmarshal(raw, &ref); err != nil {
		return fmt.Sprintf("data source %s: want {\"type\": \"prometheus\", \"uid\": …}", raw)
	}
	if m := datasourceVarRef.FindStringSubmatch(ref.UID); m != nil {
		if v := m[1] + m[2] + m[3]; !vars[v] {
			return fmt.Sprintf("data source %s is not a data source variable of the dashboard", ref.UID)
		}
	}
	if ref.Type != "" && ref.Type != "prometheus" {
		return fmt.Sprintf("data source of type %q: the view draws from its one Prometheus", ref.Type)
	}
	return ""
}

// pluginType is a data source variable's query: the type of the data
// sources it offers.
func (v Variable) pluginType() string {
	var s string
	if json.Unmarshal(v.Query, &s) != nil {
		return string(v.Query)
	}
	return s
}

// Panel returns the panel with the id.
func (d *Dashboard) Panel(id int) (Panel, bool) {
	for _, p := range d.Panels {
		if p.ID == id {
			return p, true
		}
	}
	return Panel{}, false
}

// labelValues returns the metric selector (may be empty) and the label of
// the variable's label_values() query.
func (v Variable) labelValues() (match, label string, err error) {
	q := v.Definition
	if len(v.Query) > 0 {
		var s string
		var o struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &s) == nil {
			q = s
		} else if json.Unmarshal(v.Query, &o) == nil && o.Query != "" {
			q = o.Query
		}
	}
	m := labelValuesRE.FindStringSubmatch(q)
	if m == nil {
		return "", "", fmt.Errorf("variable %s: query %q: want label_values([metric,] label)", v.Name, q)
	}
	return m[1], m[2], nil
}

// strictDecode decodes b into v, refusing fields v does not have; the tests
// use it to show that every option of the shipped dashboard is understood.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
