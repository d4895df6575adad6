package observability

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/agentorchestrator/observability/internal/doctor"
)

// reading is what one reader made of a .env file: the value of
// GRAFANA_ADMIN_PASSWORD, or the error it refused the file with.
type reading struct {
	value   string
	refused string
}

// scriptSettings runs a script that prints settings as KEY=VALUE lines
// (configure.sh --print-settings, run-local.sh settings) and returns them.
// A script that fails has refused the file: refused is its stderr, without
// the "configure.sh: " prefix.
func scriptSettings(t *testing.T, env []string, script string, args ...string) (settings map[string]string, refused string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			t.Fatalf("%s failed without a word: %v", script, err)
		}
		return nil, strings.TrimPrefix(msg, "configure.sh: ")
	}
	settings = map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(out), "\n"), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s printed %q, not KEY=VALUE", script, line)
		}
		settings[k] = v
	}
	return settings, ""
}

// scriptSetting is scriptSettings's reading of key.
func scriptSetting(t *testing.T, key string, env []string, script string, args ...string) reading {
	t.Helper()
	settings, refused := scriptSettings(t, env, script, args...)
	if refused != "" {
		return reading{refused: refused}
	}
	v, ok := settings[key]
	if !ok {
		t.Fatalf("%s printed no %s: %v", script, key, settings)
	}
	return reading{value: v}
}

// TestEnvFileSyntax: each line of the table, in a .env, is either refused
// by every one of the stack's readers (configure.sh, run-local.sh through
// it, doctor's ReadEnvFile) with the same error naming the file:line and
// the variable, or read by all of them as exactly the value compose-go's
// dotenv gives, which is also what docker-compose.yml hands Grafana. The
// table pins which lines are in the syntax (.env.example's header): a
// reader that refused everything, or accepted what compose reads otherwise,
// fails.
func TestEnvFileSyntax(t *testing.T) {
	const key = "GRAFANA_ADMIN_PASSWORD"
	for _, tt := range []struct {
		line string
		want string // the value; "" with refused set: the error's words
		// refused: the error after "FILE:3: ", or "" for an accepted line.
		refused string
	}{
		{line: "GRAFANA_ADMIN_PASSWORD=s3cret", want: "s3cret"},
		{line: `GRAFANA_ADMIN_PASSWORD="s3cret pw"`, want: "s3cret pw"},
		{line: `GRAFANA_ADMIN_PASSWORD='s3cret pw'`, want: "s3cret pw"},
		{line: `GRAFANA_ADMIN_PASSWORD="a#b"  # the password`, want: "a#b"},
		{line: `GRAFANA_ADMIN_PASSWORD='a#b'#no space`, want: "a#b"},
		{line: "GRAFANA_ADMIN_PASSWORD=\"a b\"\t# a tab", want: "a b"},
		{line: "GRAFANA_ADMIN_PASSWORD=ab # a comment", want: "ab"},
		{line: "GRAFANA_ADMIN_PASSWORD=ab \t # two blanks", want: "ab"},
		{line: "GRAFANA_ADMIN_PASSWORD=a #b #c", want: "a"},
		{line: "GRAFANA_ADMIN_PASSWORD=s3cret # it's $free, \\ too", want: "s3cret"},
		{line: "  GRAFANA_ADMIN_PASSWORD=  spaced out  ", want: "spaced out"},
		{line: "\tGRAFANA_ADMIN_PASSWORD=\ta b\tc\t", want: "a b\tc"},
		{line: "GRAFANA_ADMIN_PASSWORD=a=b:c", want: "a=b:c"},
		{line: `GRAFANA_ADMIN_PASSWORD="it's"`, want: "it's"},
		{line: `GRAFANA_ADMIN_PASSWORD='say "hi"'`, want: `say "hi"`},
		{line: `GRAFANA_ADMIN_PASSWORD=" padded "`, want: " padded "},
		{line: "GRAFANA_ADMIN_PASSWORD=s3cret\r", want: "s3cret"},
		{line: "GRAFANA_ADMIN_PASSWORD=\"s3 cret\" # CR LF\r", want: "s3 cret"},
		{line: "GRAFANA_ADMIN_PASSWORD=", want: ""},
		{line: `GRAFANA_ADMIN_PASSWORD=""`, want: ""},
		{line: "GRAFANA_ADMIN_PASSWORD=!%&*()[]{}<>?/|~^`,;:@+", want: "!%&*()[]{}<>?/|~^`,;:@+"},
		// compose substitutes: "pa", "pa$word", "$HOME"…
		{line: "GRAFANA_ADMIN_PASSWORD=pa$word", refused: "GRAFANA_ADMIN_PASSWORD: $ in the value"},
		{line: "GRAFANA_ADMIN_PASSWORD=pa$$word", refused: "GRAFANA_ADMIN_PASSWORD: $ in the value"},
		{line: "GRAFANA_ADMIN_PASSWORD=${HOME}", refused: "GRAFANA_ADMIN_PASSWORD: $ in the value"},
		{line: `GRAFANA_ADMIN_PASSWORD="pa$word"`, refused: "GRAFANA_ADMIN_PASSWORD: $ in the value"},
		{line: `GRAFANA_ADMIN_PASSWORD='pa$word'`, refused: "GRAFANA_ADMIN_PASSWORD: $ in the value"},
		{line: "GRAFANA_ADMIN_PASSWORD=$", refused: "GRAFANA_ADMIN_PASSWORD: $ in the value"},
		// compose unescapes in double quotes and keeps \ elsewhere.
		{line: `GRAFANA_ADMIN_PASSWORD=a\b`, refused: `GRAFANA_ADMIN_PASSWORD: \ in the value`},
		{line: `GRAFANA_ADMIN_PASSWORD="a\nb"`, refused: `GRAFANA_ADMIN_PASSWORD: \ in the value`},
		{line: `GRAFANA_ADMIN_PASSWORD="a\"b"`, refused: `GRAFANA_ADMIN_PASSWORD: \ in the value`},
		{line: `GRAFANA_ADMIN_PASSWORD='a\'b'`, refused: `GRAFANA_ADMIN_PASSWORD: \ in the value`},
		// compose keeps a # not after a space, and the whole of "# …"
		// after blanks.
		{line: "GRAFANA_ADMIN_PASSWORD=a#b", refused: "GRAFANA_ADMIN_PASSWORD: # inside an unquoted value"},
		{line: "GRAFANA_ADMIN_PASSWORD=ab\t# a tab, no space", refused: "GRAFANA_ADMIN_PASSWORD: # inside an unquoted value"},
		{line: "GRAFANA_ADMIN_PASSWORD= # only a comment", refused: "GRAFANA_ADMIN_PASSWORD: # inside an unquoted value"},
		{line: "GRAFANA_ADMIN_PASSWORD=it's", refused: "GRAFANA_ADMIN_PASSWORD: a quote inside an unquoted value"},
		{line: `GRAFANA_ADMIN_PASSWORD=a "b"`, refused: "GRAFANA_ADMIN_PASSWORD: a quote inside an unquoted value"},
		{line: `GRAFANA_ADMIN_PASSWORD="unterminated`, refused: `GRAFANA_ADMIN_PASSWORD: no closing " quote`},
		{line: `GRAFANA_ADMIN_PASSWORD='unterminated`, refused: `GRAFANA_ADMIN_PASSWORD: no closing ' quote`},
		{line: `GRAFANA_ADMIN_PASSWORD="a" b`, refused: "GRAFANA_ADMIN_PASSWORD: text after the closing quote"},
		{line: `GRAFANA_ADMIN_PASSWORD="a"'b'`, refused: "GRAFANA_ADMIN_PASSWORD: text after the closing quote"},
		{line: "GRAFANA_ADMIN_PASSWORD=p\u00e4ss", refused: "GRAFANA_ADMIN_PASSWORD: a character other than printable ASCII"},
		{line: "GRAFANA_ADMIN_PASSWORD=ab\u00a0", refused: "GRAFANA_ADMIN_PASSWORD: a character other than printable ASCII"},
		{line: "GRAFANA_ADMIN_PASSWORD=ab\v", refused: "GRAFANA_ADMIN_PASSWORD: a character other than printable ASCII"},
		{line: "GRAFANA_ADMIN_PASSWORD=a\rb", refused: "GRAFANA_ADMIN_PASSWORD: a character other than printable ASCII"},
		{line: "export GRAFANA_ADMIN_PASSWORD=s3cret", refused: `GRAFANA_ADMIN_PASSWORD: no "export "`},
		{line: "GRAFANA_ADMIN_PASSWORD = s3cret", refused: "not KEY=VALUE"},
		{line: "GRAFANA_ADMIN_PASSWORD:s3cret", refused: "not KEY=VALUE"},
		{line: "GRAFANA_ADMIN_PASSWORD", refused: "not KEY=VALUE"},
		{line: "grafana_admin_password=s3cret", refused: "not KEY=VALUE"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, ".env")
		content := "# settings\nAPI_PORT=8000\n" + tt.line + "\n"
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		readers := map[string]reading{
			"configure.sh": scriptSetting(t, key, nil, "configure.sh", "--print-settings", path),
			"run-local.sh": scriptSetting(t, key, []string{"ENV_FILE=" + path, "RUN_LOCAL_DIR=" + filepath.Join(dir, "run")}, "run-local.sh", "settings"),
		}
		if env, err := doctor.ReadEnvFile(path); err != nil {
			readers["doctor"] = reading{refused: err.Error()}
		} else {
			readers["doctor"] = reading{value: env[key]}
		}
		if tt.refused != "" {
			want := path + ":3: " + tt.refused
			for name, r := range readers {
				if !strings.HasPrefix(r.refused, want) || r.refused != readers["doctor"].refused {
					t.Errorf("%q: %s: %+v, want refused with %q, as doctor: %q", tt.line, name, r, want, readers["doctor"].refused)
				}
			}
			continue
		}
		composed, err := dotenv.GetEnvFromFile(map[string]string{}, []string{path})
		if err != nil || composed[key] != tt.want {
			t.Errorf("%q: compose-go reads %q (%v), the table says %q", tt.line, composed[key], err, tt.want)
			continue
		}
		for name, r := range readers {
			if r.refused != "" || r.value != tt.want {
				t.Errorf("%q: %s: %+v, want %q as compose-go reads it", tt.line, name, r, tt.want)
			}
		}
		// All the way to Grafana's container (an empty password is
		// ${GRAFANA_ADMIN_PASSWORD:-admin}'s default).
		want := tt.want
		if want == "" {
			want = "admin"
		}
		if pw := loadCompose(t, composed).Services["grafana"].Environment["GF_SECURITY_ADMIN_PASSWORD"]; pw == nil || *pw != want {
			t.Errorf("%q: docker-compose.yml gives Grafana %v, want %q", tt.line, pw, want)
		}
	}
}

// TestEnvFileSyntaxWholeFile: the readers agree on a whole file too, and
// with compose-go: .env.example as shipped, and a file with CR LF line
// ends, duplicates (the last wins), no line end at its end, and a byte
// order mark, which compose-go skips and the readers refuse.
func TestEnvFileSyntaxWholeFile(t *testing.T) {
	example, err := os.ReadFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	crlf := "API_PORT=8001\r\n# c\r\n\r\nGRAFANA_ADMIN_USER='ops'\r\nGRAFANA_ADMIN_USER=\"ops2\" # again\r\nGRAFANA_PORT=3009"
	for name, content := range map[string]string{".env.example": string(example), "crlf": crlf} {
		path := filepath.Join(t.TempDir(), ".env")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		composed, err := dotenv.GetEnvFromFile(map[string]string{}, []string{path})
		if err != nil {
			t.Fatal(err)
		}
		env, err := doctor.ReadEnvFile(path)
		if err != nil {
			t.Fatalf("%s: doctor: %v", name, err)
		}
		if len(env) != len(composed) || len(env) < 3 {
			t.Errorf("%s: doctor read %v, compose-go %v", name, env, composed)
		}
		settings, refused := scriptSettings(t, nil, "configure.sh", "--print-settings", path)
		if refused != "" {
			t.Fatalf("%s: configure.sh: %s", name, refused)
		}
		for k, v := range composed {
			if env[k] != v || settings[k] != v {
				t.Errorf("%s: %s: doctor %q, configure.sh %q, compose-go %q", name, k, env[k], settings[k], v)
			}
		}
	}
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte("\uFEFFAPI_PORT=8001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if composed, err := dotenv.GetEnvFromFile(map[string]string{}, []string{path}); err != nil || composed["API_PORT"] != "8001" {
		t.Errorf("compose-go on a BOM: %v %v", composed, err)
	}
	want := path + ":1: a byte order mark"
	_, derr := doctor.ReadEnvFile(path)
	if r := scriptSetting(t, "API_PORT", nil, "configure.sh", "--print-settings", path); derr == nil ||
		!strings.HasPrefix(derr.Error(), want) || r.refused != derr.Error() {
		t.Errorf("a BOM: doctor %v, configure.sh %+v; want both %q", derr, r, want)
	}
}
