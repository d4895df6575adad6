package instrtest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// SecretKey is the key in URLError's URL.
const SecretKey = "SECRETKEY123"

// URLError returns the error Go's HTTP client really returns for a request
// to a closed port whose URL carries an API key in its query (as Gemini,
// Vertex and many gateways take it), wrapped as a caller would.
func URLError() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/v1/models?key="+SecretKey, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		return fmt.Errorf("a request to port 1 succeeded")
	}
	return fmt.Errorf("calling the provider: %w", err)
}

// Leaks returns where in the spans SecretKey appears: status, attributes
// and events.
func Leaks(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		if strings.Contains(s.Status.Description, SecretKey) {
			out = append(out, s.Name+" status: "+s.Status.Description)
		}
		for _, a := range s.Attributes {
			if strings.Contains(a.Value.String(), SecretKey) {
				out = append(out, s.Name+" attribute "+string(a.Key))
			}
		}
		for _, e := range s.Events {
			for _, a := range e.Attributes {
				if strings.Contains(a.Value.String(), SecretKey) {
					out = append(out, s.Name+" event "+e.Name)
				}
			}
		}
	}
	return out
}
