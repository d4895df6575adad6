package instr

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// FoldedName is the counter of measurements whose label value was folded
// into _OTHER (an unknown worker profile, a model past the series bound), by
// package and label; Prometheus names it otelobs_label_folded_total.
const FoldedName = "otelobs.label.folded"

// FoldedDescription is its description.
const FoldedDescription = "Measurements whose label value was recorded as _OTHER, by package and label."

// Folded counts folded label values for one package. Its series exist at 0
// from the start, so that increase() sees the first fold.
type Folded struct {
	c    metric.Int64Counter
	opts [][]metric.AddOption
}

// NewFolded creates the counter in m for pkg's labels; on error it counts
// into a no-op and returns the error, named, through errs.
func NewFolded(m metric.Meter, errs *Errors, pkg string, labels ...string) *Folded {
	f := &Folded{}
	var err error
	if f.c, err = m.Int64Counter(FoldedName, metric.WithUnit("{measurement}"), metric.WithDescription(FoldedDescription)); errs.Failed(FoldedName, err) {
		f.c = noop.Int64Counter{}
	}
	for _, l := range labels {
		o := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
			attribute.String("package", pkg), attribute.String("label", l)))}
		f.opts = append(f.opts, o)
		f.c.Add(context.Background(), 0, o...)
	}
	return f
}

// Add counts one measurement whose value of labels[label] was folded.
func (f *Folded) Add(ctx context.Context, label int) { f.c.Add(ctx, 1, f.opts[label]...) }
