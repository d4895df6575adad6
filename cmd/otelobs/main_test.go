package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestUsageErrors: bad invocations exit 2 with a message that names the
// problem, and check nothing.
func TestUsageErrors(t *testing.T) {
	badEnv := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(badEnv, []byte("PROMETHEUS_PORT=nine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "usage: otelobs doctor"},
		{[]string{"docter"}, "usage: otelobs doctor"},
		{[]string{"doctor", "-mode", "pul"}, "-mode=pul: want pull, push or auto"},
		{[]string{"doctor", "-timeout", "0s"}, "-timeout=0s"},
		{[]string{"doctor", "-nope"}, "flag provided but not defined: -nope"},
		{[]string{"doctor", "extra"}, `unexpected argument "extra"`},
		{[]string{"doctor", "-env", filepath.Join(t.TempDir(), "missing.env")}, "missing.env: no such file"},
		{[]string{"doctor", "-env", badEnv}, "PROMETHEUS_PORT=nine: want a TCP port"},
	} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), tt.args, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tt.want) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want 2 and %q", tt.args, code, errOut.String(), out.String(), tt.want)
		}
	}
}

// TestDocumentedFlagsExist: every flag docs/troubleshooting.md names is a
// flag of doctor, but on lines that show docker-compose or curl commands.
func TestDocumentedFlagsExist(t *testing.T) {
	var out, help bytes.Buffer
	if code := run(t.Context(), []string{"doctor", "-help"}, &out, &help); code != 0 {
		t.Fatalf("-help: exit %d", code)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	var flags [][]string
	flag := regexp.MustCompile("[` ]-([a-z][a-z-]*)")
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.Contains(line, "docker-compose") && !strings.Contains(line, "curl ") {
			flags = append(flags, flag.FindAllStringSubmatch(line, -1)...)
		}
	}
	if len(flags) < 8 {
		t.Fatalf("found %d flags in docs/troubleshooting.md, want at least 8", len(flags))
	}
	for _, m := range flags {
		if !strings.Contains(help.String(), "  -"+m[1]+" ") && !strings.Contains(help.String(), "  -"+m[1]+"\n") {
			t.Errorf("docs/troubleshooting.md names -%s, which doctor does not have", m[1])
		}
	}
}

// TestViewUsage: view's flags are listed by -help, and bad ones exit 2
// naming the problem before anything is served.
func TestViewUsage(t *testing.T) {
	var out, help bytes.Buffer
	if code := run(t.Context(), []string{"view", "-help"}, &out, &help); code != 0 {
		t.Fatalf("view -help: exit %d", code)
	}
	for _, f := range []string{"-listen", "-prometheus", "-jaeger", "-dashboard", "-env", "-datasources", "-min-step"} {
		if !strings.Contains(help.String(), "  "+f+" ") {
			t.Errorf("view -help does not list %s:\n%s", f, help.String())
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"view", "-min-step", "0s"}, "want positive durations"},
		{[]string{"view", "-listen", "3001"}, "-listen=3001: want host:port"},
		{[]string{"view", "-prometheus", "localhost:9090"}, `Prometheus URL "localhost:9090": want http://host:port`},
		{[]string{"view", "-dashboard", filepath.Join(t.TempDir(), "none.json")}, "none.json: no such file"},
		{[]string{"view", "extra"}, `unexpected argument "extra"`},
	} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), tt.args, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut.String(), tt.want)
		}
	}
}
