package promexpo

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Handler serves src and the extra gatherers as promhttp.HandlerFor serves
// prometheus.Gatherers{src, extra...} with OpenMetrics enabled,
// ContinueOnError and errLog: the same negotiation of format and gzip, the
// same name[] filter, the same bytes. Text and OpenMetrics scrapes are
// written by the fast encoder; protobuf scrapes, gatherers other than
// *prometheus.Registry, gathering errors and data the encoder does not
// reproduce exactly are served by promhttp itself, from the same
// collection: observable callbacks run once a scrape, on either path.
func Handler(src *Source, extra []prometheus.Gatherer, errLog promhttp.Logger) http.Handler {
	opts := promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
		ErrorLog:          errLog,
	}
	h := &handler{
		src:        src,
		extra:      extra,
		log:        errLog,
		opts:       opts,
		registries: true,
	}
	for _, g := range extra {
		if _, ok := g.(*prometheus.Registry); !ok {
			h.registries = false
		}
	}
	return h
}

type handler struct {
	src        *Source
	extra      []prometheus.Gatherer
	registries bool
	log        promhttp.Logger
	opts       promhttp.HandlerOpts

	// For tests: scrapes each path served, and the last fallback's reason.
	fast, fallbacks atomic.Int64
	reason          atomic.Pointer[string]
}

// entry is one family of the response: the fast path's or a gatherer's.
type entry struct {
	name string
	fam  *family
	mf   *dto.MetricFamily
}

// fallback serves the data this scrape collected (nil: none) through
// promhttp and the reference path.
func (h *handler) fallback(w http.ResponseWriter, r *http.Request, reason string, rm *metricdata.ResourceMetrics) {
	h.fallbacks.Add(1)
	h.reason.Store(&reason)
	promhttp.HandlerFor(append(prometheus.Gatherers{gathered{h.src, rm}}, h.extra...), h.opts).ServeHTTP(w, r)
}

// gathered gathers data the Source has collected, through the reference
// path.
type gathered struct {
	src *Source
	rm  *metricdata.ResourceMetrics
}

// Gather implements prometheus.Gatherer.
func (c gathered) Gather() ([]*dto.MetricFamily, error) { return c.src.gatherCollected(c.rm) }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The exporter collects with context.TODO(): a scraper that goes away
	// does not cut a collection short.
	rm := h.src.collect(context.WithoutCancel(r.Context()))
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	var om bool
	switch format.FormatType() {
	case expfmt.TypeTextPlain:
	case expfmt.TypeOpenMetrics:
		om = true
	default:
		h.fallback(w, r, "a protobuf scrape", rm)
		return
	}
	if !h.registries {
		h.fallback(w, r, "a gatherer that is not a *prometheus.Registry", rm)
		return
	}
	var entries []entry
	if rm != nil {
		fams, reason := build(&h.src.names, rm)
		if reason != "" {
			h.fallback(w, r, reason, rm)
			return
		}
		entries = make([]entry, 0, len(fams))
		for i := range fams {
			entries = append(entries, entry{name: fams[i].name, fam: &fams[i]})
		}
	}
	if len(h.extra) > 0 {
		for _, g := range h.extra {
			mfs, err := g.Gather()
			if err != nil {
				h.fallback(w, r, "a gathering error", rm)
				return
			}
			for _, mf := range mfs {
				entries = append(entries, entry{name: mf.GetName(), mf: mf})
			}
		}
		slices.SortFunc(entries, func(x, y entry) int { return strings.Compare(x.name, y.name) })
		if reason := mergeConflict(entries); reason != "" {
			h.fallback(w, r, reason, rm)
			return
		}
	}
	h.fast.Add(1)
	h.write(w, r, format, om, entries)
}

func entryName(e entry) string { return e.name }

// mergeConflict says why families from several sources cannot simply be
// interleaved: a name twice (prometheus.Gatherers merges or refuses them)
// or a name that is another's with a histogram suffix.
func mergeConflict(entries []entry) string {
	for i := range entries {
		if i > 0 && entries[i-1].name == entries[i].name {
			return "two sources of the family " + entries[i].name
		}
		if suffix := histogramSuffix(entries, entryName, entries[i].name); suffix != "" {
			return "a family whose name is another's with " + suffix
		}
	}
	return ""
}

var (
	bufPool  = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}
	gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
)

func (h *handler) write(w http.ResponseWriter, r *http.Request, format expfmt.Format, om bool, entries []entry) {
	w.Header().Set("Content-Type", string(format))
	w.Header().Add("Vary", "Accept")
	w.Header().Add("Vary", "Accept-Encoding")
	var out io.Writer = w
	switch enc := contentEncoding(r.Header); enc {
	case "gzip":
		gz := gzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() { _ = gz.Close(); gzipPool.Put(gz) }()
		w.Header().Set("Content-Encoding", "gzip")
		out = gz
	case "identity":
	default:
		h.println("error getting writer", fmt.Errorf(
			"content compression format not recognized: %s. Valid formats are: %s", enc, offers))
	}
	bw := bufPool.Get().(*bufio.Writer)
	bw.Reset(out)
	defer func() { bw.Reset(nil); bufPool.Put(bw) }()

	var only map[string]bool
	if r.URL != nil {
		if names := r.URL.Query()["name[]"]; len(names) > 0 {
			only = make(map[string]bool, len(names))
			for _, n := range names {
				only[n] = true
			}
		}
	}
	enc := encoder{w: bw, om: om}
	scheme := format.ToEscapingScheme()
	for _, e := range entries {
		if only != nil && !only[e.name] {
			continue
		}
		if e.fam != nil {
			enc.family(e.fam)
			continue
		}
		var err error
		if om {
			_, err = expfmt.MetricFamilyToOpenMetrics(bw, model.EscapeMetricFamily(e.mf, scheme))
		} else {
			_, err = expfmt.MetricFamilyToText(bw, model.EscapeMetricFamily(e.mf, scheme))
		}
		if err != nil {
			h.println("error encoding and sending metric family:", err)
		}
	}
	if om {
		bw.WriteString("# EOF\n")
	}
	if err := bw.Flush(); err != nil {
		h.println("error encoding and sending metric family:", err)
	}
}

func (h *handler) println(v ...any) {
	if h.log != nil {
		h.log.Println(v...)
	}
}

// offers are the encodings promhttp offers by default, in its order.
var offers = []string{"identity", "gzip"}

// contentEncoding chooses among offers for an Accept-Encoding header the way
// promhttp does: the highest q wins, the earlier offer on a tie (so
// "gzip, identity" and "*" get identity, "gzip" gets gzip, no header gets
// identity), and "" when the best match has q=0. promhttp's negotiation is
// in an internal package of client_golang, so it cannot be called.
func contentEncoding(h http.Header) string {
	best, bestQ := "identity", -1.0
	for _, offer := range offers {
		for _, v := range h.Values("Accept-Encoding") {
			for part := range strings.SplitSeq(v, ",") {
				token, params, _ := strings.Cut(part, ";")
				token = strings.TrimSpace(token)
				if token != "*" && token != offer {
					continue
				}
				q, ok := quality(params)
				if ok && q > bestQ {
					best, bestQ = offer, q
				}
			}
		}
	}
	if bestQ == 0 {
		return ""
	}
	return best
}

// quality reads "q=0.5" (1 when absent); false for a malformed one.
func quality(params string) (float64, bool) {
	params = strings.TrimSpace(params)
	if params == "" {
		return 1, true
	}
	v, ok := strings.CutPrefix(params, "q=")
	if !ok {
		return 0, false
	}
	q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || q < 0 || q > 1 {
		return 0, false
	}
	return q, true
}
