package observability

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// ruleFile is the part of alerts.yml these tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	return f
}

// runbookBase is where every alert's runbook_url points, followed by the
// anchor of its section.
const runbookBase = "https://github.com/agentorchestrator/observability/blob/main/docs/troubleshooting.md#"

// anchor is the fragment GitHub gives a Markdown heading: lower case,
// spaces to hyphens, punctuation other than - and _ dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestAlertRunbooks: every alert has a summary, a description and a
// runbook_url naming its own section of docs/troubleshooting.md (a heading
// that exists, titled with the alert's name), and every in-page link of that
// document resolves.
func TestAlertRunbooks(t *testing.T) {
	doc, err := os.ReadFile("../docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{2,4} (.+)$`).FindAllStringSubmatch(string(doc), -1) {
		anchors[anchor(m[1])] = true
	}
	alerts := 0
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: wants a summary and a description", r.Alert)
			}
			want := runbookBase + anchor(r.Alert)
			if got := r.Annotations["runbook_url"]; got != want {
				t.Errorf("%s: runbook_url %q, want %q", r.Alert, got, want)
			}
			if !anchors[anchor(r.Alert)] {
				t.Errorf("%s: docs/troubleshooting.md has no section \"### %s\"", r.Alert, r.Alert)
			}
		}
	}
	if alerts < 20 {
		t.Errorf("only %d alerts read from alerts.yml", alerts)
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(doc), -1) {
		if !anchors[m[1]] {
			t.Errorf("docs/troubleshooting.md links to #%s, which is no heading of it", m[1])
		}
	}
}

// recordedName matches a recording rule's level:metric:operations name.
var recordedName = regexp.MustCompile(`\b[a-z_]+:[a-z_0-9]+:[a-z_0-9]+\b`)

// TestRecordedSeriesDefinedAbove: an expression reads a recorded series only
// from a rule above it in its own group, whose rules run in order at one
// timestamp: read from another group, it would lag by an evaluation or not,
// depending on which group ran first. The one exception is the list of
// pushed copies, which changes only when a service starts or stops pushing.
func TestRecordedSeriesDefinedAbove(t *testing.T) {
	const crossGroup = "job_instance:otelobs_pushed_copy:info"
	defined := map[string]string{} // recorded name → group
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				defined[r.Record] = g.Name
			}
		}
	}
	if defined[crossGroup] == "" {
		t.Fatalf("no rule records %s", crossGroup)
	}
	reads := 0
	for _, g := range readRules(t).Groups {
		above := map[string]bool{}
		for _, r := range g.Rules {
			for _, name := range recordedName.FindAllString(r.Expr, -1) {
				reads++
				switch {
				case above[name]:
				case name == crossGroup && defined[name] != "":
				case defined[name] == "":
					t.Errorf("%s%s reads %s, which no rule records", r.Alert, r.Record, name)
				default:
					t.Errorf("%s%s (group %s) reads %s, recorded in group %s or below it: move the recording rule to the top of %s",
						r.Alert, r.Record, g.Name, name, defined[name], g.Name)
				}
			}
			if r.Record != "" {
				above[r.Record] = true
			}
		}
	}
	if reads < 10 {
		t.Errorf("only %d reads of recorded series found", reads)
	}
}
