package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// checkTrace is step 4: the trace store returns a trace an exemplar names.
func (d *doctor) checkTrace(ctx context.Context) {
	if d.cfg.JaegerURL == "" {
		d.add(4, "trace", Skip, "trace store: no Jaeger URL given (JAEGER_UI_PORT or -jaeger)", "")
		return
	}
	if len(d.traceIDs) == 0 {
		d.add(4, "trace", Skip, "trace store: no trace id to look up (step 3 found none)", "")
		return
	}
	base := strings.TrimSuffix(d.cfg.JaegerURL, "/")
	// The newest exemplars' spans may still be in the exporter's batch:
	// look at a few.
	ids := d.traceIDs[:min(5, len(d.traceIDs))]
	for _, id := range ids {
		code, _, body, err := d.get(ctx, base+"/api/traces/"+id)
		if err != nil {
			d.add(4, "trace", Fail, fmt.Sprintf("trace store: GET %s/api/traces/%s: %s", base, id, shortErr(err)),
				"start Jaeger (the stack runs it; its UI and API are on JAEGER_UI_PORT, 16686), or pass -jaeger")
			return
		}
		if code != 200 {
			continue
		}
		var r struct {
			Data []struct {
				Spans []json.RawMessage `json:"spans"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &r) == nil && len(r.Data) > 0 && len(r.Data[0].Spans) > 0 {
			d.add(4, "trace", Pass, fmt.Sprintf("trace store: Jaeger has trace %s (%d spans), named by an exemplar", id, len(r.Data[0].Spans)), "")
			return
		}
	}
	d.add(4, "trace", Fail,
		fmt.Sprintf("trace store: Jaeger has none of the %d newest traces the exemplars name (%s…)", len(ids), ids[0]),
		"the app's spans do not reach Jaeger: set OTEL_TRACES_EXPORTER=otlp and OTEL_EXPORTER_OTLP_ENDPOINT to the Collector\n"+
			"(http://localhost:4318), or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT to Jaeger's OTLP receiver; in push mode check the Collector (step 6)")
}
