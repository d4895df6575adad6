package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEMirrorsEnvDoc: the README's table of the server's settings has
// a row for every variable -help lists, with the same default.
func TestREADMEMirrorsEnvDoc(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for line := range strings.SplitSeq(string(readme), "\n") {
		if m := regexp.MustCompile("^\\| `([A-Z_<>]+)` \\|").FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	def := regexp.MustCompile(`\(default:? ([^)]*)\)$`)
	n := 0
	for line := range strings.SplitSeq(envDoc, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.Contains(fields[0], "_") || !strings.HasPrefix(line, "  ") {
			continue
		}
		n++
		name := fields[0]
		row, ok := rows[name]
		if !ok {
			t.Errorf("README has no row for %s", name)
			continue
		}
		if m := def.FindStringSubmatch(line); m != nil && !strings.Contains(strings.ReplaceAll(row, "`", ""), m[1]) {
			t.Errorf("README's %s row lacks the default %q:\n%s", name, m[1], row)
		}
	}
	if n < 15 {
		t.Errorf("only %d variables read from envDoc", n)
	}
}
