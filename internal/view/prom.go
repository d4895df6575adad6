//lint:file-ignore ST1005 these errors are shown on the page as they are, and begin with the names Prometheus and Jaeger

package view

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// prometheus is the view's client of Prometheus's HTTP API, through
// client_golang's api/prometheus/v1 (the client Prometheus's maintainers
// keep). It counts the requests it makes, for the benchmark and the page's
// footer.
type prometheus struct {
	api     v1.API
	base    string
	display string // base without a password, for pages and errors
	timeout time.Duration
	queries atomic.Int64
	bytes   atomic.Int64
}

func newPrometheus(base string, timeout time.Duration) (*prometheus, error) {
	p := &prometheus{base: strings.TrimSuffix(base, "/"), timeout: timeout}
	p.display = redact(p.base)
	c, err := api.NewClient(api.Config{Address: p.base, RoundTripper: countingTransport{p, http.DefaultTransport}})
	if err != nil {
		return nil, fmt.Errorf("prometheus URL %q: %w", base, err)
	}
	p.api = v1.NewAPI(c)
	return p, nil
}

type countingTransport struct {
	p    *prometheus
	next http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.p.queries.Add(1)
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.p.bytes, left: maxResponse}
	}
	return resp, err
}

// maxResponse bounds what the view reads of one Prometheus answer: a query
// selecting every series over a month fails with a clear error instead of
// filling the memory.
const maxResponse = 64 << 20

// errTooLarge is the error of an answer beyond maxResponse.
var errTooLarge = errors.New("the answer is larger than 64 MiB: narrow the query, or the time range")

// countingBody counts the bytes read from a response (after the
// transport's gzip decoding) and fails beyond its limit.
type countingBody struct {
	io.ReadCloser
	n    *atomic.Int64
	left int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	b.left -= int64(n)
	return n, err
}

// redact hides a URL's password, for what the view shows.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return p.Redacted()
}

// Stats are the Prometheus requests the view has made.
type Stats struct {
	// Queries counts HTTP requests to Prometheus's API.
	Queries int64 `json:"queries"`
	// Bytes is the size of their responses, as read (decompressed).
	Bytes int64 `json:"bytes"`
}

func (p *prometheus) stats() Stats { return Stats{p.queries.Load(), p.bytes.Load()} }

func (p *prometheus) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.timeout)
}

// promError says what went wrong in words for a panel: unreachable,
// a bad query (Prometheus's own message), or a timeout.
func promError(base string, err error) error {
	var apiErr *v1.Error
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Type == v1.ErrBadData:
		return fmt.Errorf("query error: %s", apiErr.Msg)
	case errors.As(err, &apiErr) && apiErr.Msg != "":
		return fmt.Errorf("Prometheus (%s): %s: %s", base, apiErr.Type, apiErr.Msg)
	case errors.Is(err, errTooLarge):
		return fmt.Errorf("Prometheus (%s): %v", base, errTooLarge)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("Prometheus unreachable: %s did not answer in time", base)
	case errors.As(err, &urlErr):
		return fmt.Errorf("Prometheus unreachable: %v", urlErr.Err)
	}
	return fmt.Errorf("Prometheus (%s): %v", base, err)
}

// Point is one sample.
type Point struct {
	T int64 // Unix milliseconds
	V float64
}

// seriesOf turns a query result into labelled point lists, sorted by their
// labels so that colours stay put between refreshes.
func seriesOf(v model.Value) []rawSeries {
	var out []rawSeries
	switch m := v.(type) {
	case model.Matrix:
		for _, s := range m {
			pts := make([]Point, 0, len(s.Values))
			for _, sp := range s.Values {
				pts = append(pts, Point{int64(sp.Timestamp), float64(sp.Value)})
			}
			out = append(out, rawSeries{labels: s.Metric, points: pts})
		}
	case model.Vector:
		for _, s := range m {
			out = append(out, rawSeries{labels: s.Metric, points: []Point{{int64(s.Timestamp), float64(s.Value)}}})
		}
	case *model.Scalar:
		out = append(out, rawSeries{labels: model.Metric{}, points: []Point{{int64(m.Timestamp), float64(m.Value)}}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].labels.String() < out[j].labels.String() })
	return out
}

type rawSeries struct {
	labels model.Metric
	points []Point
}

// queryRange runs a range query.
func (p *prometheus) queryRange(ctx context.Context, q string, r v1.Range) ([]rawSeries, []string, error) {
	ctx, cancel := p.ctx(ctx)
	defer cancel()
	v, warn, _, err := p.api.QueryRange(ctx, q, r)
	if err != nil {
		return nil, nil, promError(p.display, err)
	}
	return seriesOf(v), warn, nil
}

// query runs an instant query.
func (p *prometheus) query(ctx context.Context, q string, at time.Time) ([]rawSeries, []string, error) {
	ctx, cancel := p.ctx(ctx)
	defer cancel()
	v, warn, _, err := p.api.Query(ctx, q, at)
	if err != nil {
		return nil, nil, promError(p.display, err)
	}
	return seriesOf(v), warn, nil
}

// exemplars runs query_exemplars.
func (p *prometheus) exemplars(ctx context.Context, q string, start, end time.Time) ([]v1.ExemplarQueryResult, error) {
	ctx, cancel := p.ctx(ctx)
	defer cancel()
	r, err := p.api.QueryExemplars(ctx, q, start, end)
	if err != nil {
		return nil, promError(p.display, err)
	}
	return r, nil
}

// labelValues lists a label's values on the series match selects.
func (p *prometheus) labelValues(ctx context.Context, label, match string, start, end time.Time) ([]string, error) {
	ctx, cancel := p.ctx(ctx)
	defer cancel()
	var matches []string
	if match != "" {
		matches = []string{match}
	}
	vals, _, _, err := p.api.LabelValues(ctx, label, matches, start, end)
	if err != nil {
		return nil, promError(p.display, err)
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		out = append(out, string(v))
	}
	sort.Strings(out)
	return out, nil
}
