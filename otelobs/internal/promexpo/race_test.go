package promexpo

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// TestRecordingDuringScrapes: four goroutines record while scrapes run;
// under -race nothing is reported, every scrape parses, and a counter's
// value never goes down from one scrape to the next.
func TestRecordingDuringScrapes(t *testing.T) {
	src, mp, ctx := newProvider(t, resource.NewSchemaless(attribute.String("service.name", "race")))
	m := mp.Meter("race")
	c, _ := m.Int64Counter("work")
	h, _ := m.Float64Histogram("work.duration", metric.WithExplicitBucketBoundaries(bounds...))
	handler := Handler(src, nil, nil)
	stop := make(chan struct{})
	var wg, started sync.WaitGroup
	started.Add(4)
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if i == 1 {
					started.Done()
				}
				select {
				case <-stop:
					return
				default:
				}
				attrs := metric.WithAttributes(attribute.String("worker", strconv.Itoa(g)), attribute.String("k", strconv.Itoa(i%50)))
				c.Add(ctx, 1, attrs)
				h.Record(ctx, float64(i%7), attrs)
			}
		})
	}
	started.Wait() // each goroutine has recorded once
	last := 0.0
	for range 15 {
		r := serve(t, handler, "text/plain", "", "")
		tp := expfmt.NewTextParser(model.LegacyValidation)
		mfs, err := tp.TextToMetricFamilies(strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		if mf := mfs["work_total"]; mf != nil {
			for _, s := range mf.Metric {
				total += s.GetCounter().GetValue()
			}
		}
		if total < last {
			t.Fatalf("work_total went from %v to %v", last, total)
		}
		last = total
		_ = serve(t, handler, "application/openmetrics-text;version=1.0.0", "gzip", "")
	}
	close(stop)
	wg.Wait()
	if last < 4 {
		t.Fatalf("the scrapes saw %v recordings; want at least one per goroutine", last)
	}
}
