package provider

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestRealCallsAreOptIn: an API key in the environment alone does not make
// a provider real; Real does, and it says once which key it ignores (never
// the key).
func TestRealCallsAreOptIn(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OPENAI_API_KEY": testKey, "ANTHROPIC_API_KEY": testKey + "-ant", "MISTRAL_API_KEY": testKey + "-mis"}
	for _, tt := range []struct {
		real         []string
		wantReal     []string
		wantIgnored  []string
		wantNotInLog []string
	}{
		{nil, nil, []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MISTRAL_API_KEY"}, nil},
		{[]string{"openai"}, []string{"openai"}, []string{"ANTHROPIC_API_KEY", "MISTRAL_API_KEY"}, []string{"OPENAI_API_KEY"}},
		{[]string{"anthropic", "mistral"}, []string{"anthropic", "mistral"}, []string{"OPENAI_API_KEY"}, []string{"ANTHROPIC_API_KEY"}},
		{[]string{RealAll}, []string{"openai", "anthropic", "mistral"}, nil, []string{"API_KEY"}},
	} {
		var log bytes.Buffer
		reg, err := NewRegistry(Config{Env: func(k string) string { return env[k] }, Real: tt.real,
			Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatalf("Real %v: %v", tt.real, err)
		}
		for name := range Known {
			p, _ := reg.Get(name)
			want := strings.Contains(" "+strings.Join(tt.wantReal, " ")+" ", " "+name+" ")
			if p.Simulated() == want {
				t.Errorf("Real %v: %s simulated = %v", tt.real, name, p.Simulated())
			}
			if _, sim := p.(*Simulated); want == sim {
				t.Errorf("Real %v: %s is a %T", tt.real, name, p)
			}
		}
		for _, k := range tt.wantIgnored {
			if n := strings.Count(log.String(), k+" is set but ignored"); n != 1 || !strings.Contains(log.String(), "ORCH_REAL_PROVIDERS=") {
				t.Errorf("Real %v: the log says %d times that %s is ignored, or not how to opt in:\n%s", tt.real, n, k, log.String())
			}
		}
		for _, k := range tt.wantNotInLog {
			if strings.Contains(log.String(), k+" is set but ignored") {
				t.Errorf("Real %v: the log says %s is ignored:\n%s", tt.real, k, log.String())
			}
		}
		if strings.Contains(log.String(), testKey) {
			t.Errorf("the log shows a key:\n%s", log.String())
		}
	}
}

// TestRealWithoutKey: a provider named for real calls needs its key; all
// takes the providers that have one.
func TestRealWithoutKey(t *testing.T) {
	t.Parallel()
	_, err := NewRegistry(Config{Env: func(string) string { return "" }, Real: []string{"groq"}})
	if err == nil || !strings.Contains(err.Error(), "GROQ_API_KEY") || !strings.Contains(err.Error(), "ORCH_REAL_PROVIDERS") {
		t.Errorf("groq without a key: err = %v", err)
	}
	reg, err := NewRegistry(Config{Env: func(string) string { return "" }, Real: []string{RealAll}})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := reg.Get("openai"); !p.Simulated() {
		t.Error("all without any key made openai real")
	}
}

func TestParseReal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "openai": "openai", " OpenAI , anthropic ": "openai,anthropic", "all": "all", "openai,all": "all"} {
		got, err := ParseReal(in)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("ParseReal(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"skynet", "simulated", "openai,,x", "true"} {
		if _, err := ParseReal(in); err == nil || !strings.Contains(err.Error(), "all") {
			t.Errorf("ParseReal(%q): err = %v", in, err)
		}
	}
}
