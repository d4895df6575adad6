package promexpo

// The encoder. The OTel Prometheus exporter cannot be made as cheap as
// client_golang: it is a prometheus.Collector, so each data point becomes a
// const prometheus.Metric (a Desc, label pairs and, for exemplars, a wrapper,
// each allocated per point and per scrape), which the registry writes into a
// dto.Metric, checks and sorts, which expfmt finally prints: three copies of
// every series, about 130 allocations per counter-and-histogram pair and
// twice client_golang's time. No option of the exporter or of promhttp
// avoids the protobuf structures. This file prints the two text formats
// straight from the SDK's collected data, with the exact bytes expfmt prints
// for what the exporter would have built (the golden tests hold both side
// by side); only the text formats, since Prometheus asks for OpenMetrics
// first and the protobuf format goes through the exporter unchanged.

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
)

// encoder writes families in the Prometheus text format (0.0.4) or in
// OpenMetrics 1.0. Write errors are sticky in the bufio.Writer and surface
// at its Flush.
type encoder struct {
	w  *bufio.Writer
	om bool
	// le holds the formatted bounds of the histogram being written.
	le []string
}

func (e *encoder) family(f *family) {
	name := f.name
	typ := typeNames[f.kind]
	if e.om && f.kind == kindCounter {
		// OpenMetrics names a counter family without its _total, and a
		// counter without the suffix is "unknown".
		if base, ok := strings.CutSuffix(name, "_total"); ok {
			name = base
		} else {
			typ = "unknown"
		}
	}
	e.w.WriteString("# HELP ")
	e.w.WriteString(name)
	e.w.WriteByte(' ')
	e.escaped(f.help, e.om)
	e.w.WriteString("\n# TYPE ")
	e.w.WriteString(name)
	e.w.WriteByte(' ')
	e.w.WriteString(typ)
	e.w.WriteByte('\n')

	switch f.kind {
	case kindCounter, kindGauge:
		for i := range f.series {
			s := &f.series[i]
			e.name(f.name, "", s.labels, "")
			e.w.WriteByte(' ')
			e.float(s.value)
			if e.om && len(s.exemplars) > 0 {
				e.exemplar(&s.exemplars[0])
			}
			e.w.WriteByte('\n')
		}
	case kindHistogram:
		e.histogram(f)
	}
}

var typeNames = [...]string{kindCounter: "counter", kindGauge: "gauge", kindHistogram: "histogram"}

func (e *encoder) histogram(f *family) {
	var bounds []float64
	for i := range f.series {
		s := &f.series[i]
		if len(s.bounds) != len(bounds) || (len(bounds) > 0 && &s.bounds[0] != &bounds[0]) {
			bounds = s.bounds
			e.le = e.le[:0]
			for _, b := range bounds {
				e.le = append(e.le, string(e.appendFloat(nil, b)))
			}
		}
		// client_golang puts each exemplar in the first bucket whose bound
		// is at or above its value, a later one replacing an earlier one,
		// and those above every bound in an explicit +Inf bucket.
		var at [16]int
		var bucketOf []int
		if e.om && len(s.exemplars) > 0 {
			bucketOf = at[:0]
			for j := range s.exemplars {
				bucketOf = append(bucketOf, bucketFor(bounds, s.exemplars[j].value))
			}
		}
		var cum uint64
		for b := 0; b <= len(bounds); b++ {
			le := "+Inf"
			count := s.count
			if b < len(bounds) {
				cum += s.counts[b]
				le, count = e.le[b], cum
			}
			e.name(f.name, "_bucket", s.labels, le)
			e.w.WriteByte(' ')
			e.count(count)
			for j := len(bucketOf) - 1; j >= 0; j-- {
				if bucketOf[j] == b {
					e.exemplar(&s.exemplars[j])
					break
				}
			}
			e.w.WriteByte('\n')
		}
		e.name(f.name, "_sum", s.labels, "")
		e.w.WriteByte(' ')
		e.float(s.sum)
		e.w.WriteByte('\n')
		e.name(f.name, "_count", s.labels, "")
		e.w.WriteByte(' ')
		e.count(s.count)
		e.w.WriteByte('\n')
	}
}

// bucketFor is the index of the first bound at or above v, len(bounds)
// for none (NaN included), as sort.Search finds it in client_golang.
func bucketFor(bounds []float64, v float64) int {
	lo, hi := 0, len(bounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bounds[m] >= v {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// name writes name+suffix and the labels, with le last when given.
func (e *encoder) name(name, suffix string, ls []label, le string) {
	e.w.WriteString(name)
	e.w.WriteString(suffix)
	if len(ls) == 0 && le == "" {
		return
	}
	sep := byte('{')
	for i := range ls {
		e.w.WriteByte(sep)
		e.w.WriteString(ls[i].name)
		e.w.WriteString(`="`)
		e.escaped(ls[i].value, true)
		e.w.WriteByte('"')
		sep = ','
	}
	if le != "" {
		e.w.WriteByte(sep)
		e.w.WriteString(model.BucketLabel + `="`)
		e.w.WriteString(le)
		e.w.WriteByte('"')
	}
	e.w.WriteByte('}')
}

// exemplar writes " # {labels} value timestamp", labels sorted by name.
func (e *encoder) exemplar(x *exemplar) {
	e.w.WriteString(" # ")
	sep := byte('{')
	ids := [2]struct {
		name string
		id   []byte
	}{{"span_id", x.spanID}, {"trace_id", x.traceID}}
	extra := x.extra
	for _, id := range ids {
		for len(extra) > 0 && extra[0].name < id.name {
			e.w.WriteByte(sep)
			e.w.WriteString(extra[0].name)
			e.w.WriteString(`="`)
			e.escaped(extra[0].value, true)
			e.w.WriteByte('"')
			sep = ','
			extra = extra[1:]
		}
		e.w.WriteByte(sep)
		e.w.WriteString(id.name)
		e.w.WriteString(`="`)
		e.w.Write(hex.AppendEncode(e.w.AvailableBuffer(), id.id))
		e.w.WriteByte('"')
		sep = ','
	}
	for i := range extra {
		e.w.WriteByte(',')
		e.w.WriteString(extra[i].name)
		e.w.WriteString(`="`)
		e.escaped(extra[i].value, true)
		e.w.WriteByte('"')
	}
	e.w.WriteString("} ")
	e.float(x.value)
	e.w.WriteByte(' ')
	e.float(float64(x.time.UnixNano()) / 1e9)
}

// float writes f as expfmt does: strconv's shortest 'g' form, with +Inf,
// -Inf and NaN spelt out, and in OpenMetrics ".0" after an integer.
func (e *encoder) float(f float64) {
	e.w.Write(e.appendFloat(e.w.AvailableBuffer(), f))
}

func (e *encoder) appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	if f == 0 {
		f = 0 // expfmt writes -0 as 0
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	if e.om && !bytes.ContainsAny(b[start:], "e.") {
		b = append(b, ".0"...)
	}
	return b
}

// count writes a bucket or sample count: an integer in OpenMetrics, a
// float in the text format (where expfmt converts it).
func (e *encoder) count(n uint64) {
	if e.om {
		e.w.Write(strconv.AppendUint(e.w.AvailableBuffer(), n, 10))
		return
	}
	e.float(float64(n))
}

// escaped writes s with \ and newline escaped, and " too when quote is set
// (label values; HELP text in OpenMetrics).
func (e *encoder) escaped(s string, quote bool) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch c := s[i]; {
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '"' && quote:
			esc = `\"`
		default:
			continue
		}
		e.w.WriteString(s[last:i])
		e.w.WriteString(esc)
		last = i + 1
	}
	e.w.WriteString(s[last:])
}
