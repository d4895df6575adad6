package main

import (
	"bytes"
	"os"
	"path/filepath"
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
