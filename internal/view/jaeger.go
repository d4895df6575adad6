//lint:file-ignore ST1005 these errors are shown on the page as they are, and begin with the names Prometheus and Jaeger

package view

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The trace comes from Jaeger's HTTP query API (/api/traces/{id}), the API
// its own UI uses. Jaeger's Go client packages come with its storage and
// Collector dependencies (the backends are built outside this module for
// that reason), so the few fields the page needs are decoded here.

// jaegerTrace is the API's trace.
type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
}

type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
		TraceID string `json:"traceID"`
	} `json:"references"`
	StartTime int64       `json:"startTime"` // µs since the epoch
	Duration  int64       `json:"duration"`  // µs
	Tags      []jaegerKV  `json:"tags"`
	Logs      []jaegerLog `json:"logs"`
	ProcessID string      `json:"processID"`
	Warnings  []string    `json:"warnings"`
}

type jaegerKV struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// String is the value as text.
func (kv jaegerKV) String() string {
	var s string
	if json.Unmarshal(kv.Value, &s) == nil {
		return s
	}
	return string(kv.Value)
}

type jaegerLog struct {
	Timestamp int64      `json:"timestamp"`
	Fields    []jaegerKV `json:"fields"`
}

type jaegerProcess struct {
	ServiceName string     `json:"serviceName"`
	Tags        []jaegerKV `json:"tags"`
}

// traceIDRE is a W3C trace id (32 hex digits) or Jaeger's 16-digit form.
var traceIDRE = regexp.MustCompile(`^(?:[0-9a-f]{16}|[0-9a-f]{32})$`)

// errTraceNotFound: Jaeger answered, without the trace.
var errTraceNotFound = errors.New("trace not found")

type jaeger struct {
	base    string
	display string // base without a password
	client  *http.Client
}

// get fetches a path of Jaeger's API, reading at most limit bytes.
func (j *jaeger) get(ctx context.Context, path string, limit int64) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("Jaeger unreachable: %v", redactErr(err, j.base, j.display))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, nil, fmt.Errorf("Jaeger (%s): %v", j.display, err)
	}
	if int64(len(body)) > limit {
		return 0, nil, fmt.Errorf("Jaeger (%s): %s answers with more than %d MiB, more than the view reads", j.display, path, limit>>20)
	}
	return resp.StatusCode, body, nil
}

// trace fetches one trace.
func (j *jaeger) trace(ctx context.Context, id string) (*jaegerTrace, error) {
	if !traceIDRE.MatchString(id) {
		return nil, fmt.Errorf("%q is not a trace id (32 or 16 lower-case hex digits)", id)
	}
	status, body, err := j.get(ctx, "/api/traces/"+id, 64<<20)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		return nil, errTraceNotFound
	}
	var r struct {
		Data   []jaegerTrace `json:"data"`
		Errors []struct {
			Msg string `json:"msg"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("Jaeger (%s): HTTP %d, not its JSON: %.200s", j.display, status, body)
	}
	if status != http.StatusOK {
		msg := http.StatusText(status)
		if len(r.Errors) > 0 {
			msg = r.Errors[0].Msg
		}
		return nil, fmt.Errorf("Jaeger (%s): HTTP %d: %s", j.display, status, msg)
	}
	if len(r.Data) == 0 || len(r.Data[0].Spans) == 0 {
		return nil, errTraceNotFound
	}
	return &r.Data[0], nil
}

// services lists Jaeger's services: it answers, and knows these.
func (j *jaeger) services(ctx context.Context) ([]string, error) {
	status, body, err := j.get(ctx, "/api/services", 1<<20)
	if err != nil {
		return nil, err
	}
	var r struct {
		Data []string `json:"data"`
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("Jaeger (%s): /api/services: HTTP %d", j.display, status)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("Jaeger (%s): /api/services: %v", j.display, err)
	}
	sort.Strings(r.Data)
	return r.Data, nil
}

// spanRow is one line of the waterfall.
type spanRow struct {
	SpanID, ParentID, Name, Service string
	Depth                           int
	Indent                          []struct{}
	Start, Duration                 time.Duration // from the trace's start
	Offset, Width                   string        // of the bar, in 0..1000
	Error                           bool
	Status                          string
	Attributes                      []string // key=value
	Events                          []spanEvent
	Kind                            string
}

type spanEvent struct {
	At     string
	Fields []string
}

// traceView is the trace page's model.
type traceView struct {
	TraceID  string
	RunID    string
	Root     string // the root span's name
	RootID   string // and id
	Services []string
	Start    time.Time
	Duration time.Duration
	Spans    []spanRow
	Errors   int
	// MissingParents counts spans whose parent Jaeger does not have (yet):
	// the trace is incomplete, or still arriving.
	MissingParents int
}

// buildTraceView orders the spans as a tree (children after their parent,
// by start time) and measures each against the trace's extent.
func buildTraceView(t *jaegerTrace) *traceView {
	v := &traceView{TraceID: t.TraceID}
	if len(t.Spans) == 0 {
		return v
	}
	byID := map[string]*jaegerSpan{}
	start, end := int64(1<<62), int64(0)
	for i := range t.Spans {
		s := &t.Spans[i]
		byID[s.SpanID] = s
		start, end = min(start, s.StartTime), max(end, s.StartTime+s.Duration)
	}
	parent := func(s *jaegerSpan) string {
		for _, r := range s.References {
			if (r.RefType == "CHILD_OF" || r.RefType == "FOLLOWS_FROM") && r.SpanID != s.SpanID && byID[r.SpanID] != nil {
				return r.SpanID
			}
		}
		return ""
	}
	children := map[string][]*jaegerSpan{}
	for i := range t.Spans {
		s := &t.Spans[i]
		children[parent(s)] = append(children[parent(s)], s)
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" && r.SpanID != s.SpanID && byID[r.SpanID] == nil {
				v.MissingParents++
			}
		}
	}
	for _, c := range children {
		sort.SliceStable(c, func(i, j int) bool { return c[i].StartTime < c[j].StartTime })
	}
	total := max(end-start, 1)
	services := map[string]bool{}
	visited := map[*jaegerSpan]bool{}
	var walk func(s *jaegerSpan, depth int)
	walk = func(s *jaegerSpan, depth int) {
		if visited[s] {
			return // a reference cycle in a malformed trace
		}
		visited[s] = true
		row := spanRow{SpanID: s.SpanID, ParentID: parent(s), Name: s.OperationName, Depth: depth, Indent: make([]struct{}, depth),
			Start: time.Duration(s.StartTime-start) * time.Microsecond, Duration: time.Duration(s.Duration) * time.Microsecond}
		if p, ok := t.Processes[s.ProcessID]; ok {
			row.Service = p.ServiceName
			services[p.ServiceName] = true
		}
		row.Offset = f1(float64(s.StartTime-start) / float64(total) * 1000)
		row.Width = f1(max(float64(s.Duration)/float64(total)*1000, 2))
		for _, kv := range s.Tags {
			val := kv.String()
			switch kv.Key {
			case "otel.status_code":
				row.Status = val
				row.Error = row.Error || val == "ERROR"
			case "error":
				row.Error = row.Error || val == "true"
			case "span.kind":
				row.Kind = val
			case "run.id":
				if v.RunID == "" {
					v.RunID = val
				}
			}
			row.Attributes = append(row.Attributes, kv.Key+" = "+val)
		}
		sort.Strings(row.Attributes)
		for _, l := range s.Logs {
			ev := spanEvent{At: FormatDuration(time.Duration(l.Timestamp-start) * time.Microsecond)}
			for _, f := range l.Fields {
				ev.Fields = append(ev.Fields, f.Key+" = "+f.String())
			}
			row.Events = append(row.Events, ev)
		}
		if row.Error {
			v.Errors++
		}
		v.Spans = append(v.Spans, row)
		for _, c := range children[s.SpanID] {
			walk(c, depth+1)
		}
	}
	for _, r := range children[""] {
		if v.Root == "" {
			v.Root, v.RootID = r.OperationName, r.SpanID
		}
		walk(r, 0)
	}
	for i := range t.Spans { // spans in a reference cycle: shown, at the top level
		walk(&t.Spans[i], 0)
	}
	for s := range services {
		v.Services = append(v.Services, s)
	}
	sort.Strings(v.Services)
	v.Start = time.UnixMicro(start)
	v.Duration = time.Duration(total) * time.Microsecond
	return v
}

// redactErr is err's text with the URL's password hidden (url.Error
// quotes the URL it failed on).
func redactErr(err error, base, display string) string {
	return strings.ReplaceAll(err.Error(), base, display)
}
