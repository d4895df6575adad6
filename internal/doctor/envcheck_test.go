package doctor

import (
	"strings"
	"testing"
)

// TestCheckEnv: a value otelobs.Setup would ignore fails the env check with
// the variable, the value and what is accepted; good values pass.
func TestCheckEnv(t *testing.T) {
	t.Setenv("OTEL_PROPAGATORS", "tracecontext")
	d := &doctor{}
	d.checkEnv()
	if c := d.checks[0]; c.ID != "app.env" || c.Status != Pass {
		t.Errorf("good env: %+v", c)
	}
	t.Setenv("OTEL_PROPAGATORS", "xray-lambda")
	t.Setenv("OTEL_LOG_LEVEL", "warning")
	d = &doctor{}
	d.checkEnv()
	c := d.checks[0]
	if c.Status != Fail || !strings.Contains(c.Summary, "ignore 2 values") ||
		!strings.Contains(c.Fix, `OTEL_PROPAGATORS="xray-lambda"`) || !strings.Contains(c.Fix, "accepted: debug, info, warn, error, none") {
		t.Errorf("bad env: %+v", c)
	}
}
