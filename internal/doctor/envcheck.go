package doctor

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/agentorchestrator/observability/otelobs"
)

// checkEnv reports the OTEL_* values here that otelobs.Setup would ignore,
// running with the defaults instead (or refuse, under OTELOBS_STRICT_ENV).
func (d *doctor) checkEnv() {
	set := 0
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OTEL_") || strings.HasPrefix(kv, "OTELOBS_") {
			set++
		}
	}
	err := otelobs.CheckEnv()
	if err == nil {
		d.add(1, "app.env", Pass, "env: the OTEL_* variables here are valid ("+plural(set, "variable")+" set)", "")
		return
	}
	var lines []string
	for _, e := range unjoin(err) {
		lines = append(lines, e.Error())
	}
	d.add(1, "app.env", Fail, "env: the app started from this shell would ignore "+plural(len(lines), "value")+" and use the defaults",
		strings.Join(lines, "\n"))
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	var e *otelobs.EnvError
	if errors.As(err, &e) {
		return []error{e}
	}
	return []error{err}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
