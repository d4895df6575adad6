package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// SimOptions tune the simulated providers.
type SimOptions struct {
	// LatencyScale multiplies the simulated latency (1: realistic, about
	// 0.3–3 s a call; 0: no waiting).
	LatencyScale float64
	// RateLimitRate and ErrorRate are the probabilities that a call is
	// answered with a 429 (with a Retry-After) or a 503.
	RateLimitRate, ErrorRate float64
	// ConflictRate is the probability that a plan gives two coders the same
	// file, which makes their merges conflict.
	ConflictRate float64
}

// DefaultSimOptions are realistic enough for a dashboard to move.
var DefaultSimOptions = SimOptions{LatencyScale: 1, RateLimitRate: 0.04, ErrorRate: 0.02, ConflictRate: 0.5}

// Simulated answers locally, with the latency, token counts and failures of
// a real provider. Its token counts come from the text (about four
// characters a token), so the cost is that of the named model. It is seeded:
// the same seed and calls give the same answers.
type Simulated struct {
	name string
	opts SimOptions

	mu  sync.Mutex
	rnd *rand.Rand
}

// NewSimulated returns a simulated provider that reports itself as name.
func NewSimulated(name string, seed uint64, opts SimOptions) *Simulated {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return &Simulated{name: name, opts: opts, rnd: rand.New(rand.NewPCG(seed, h.Sum64()))}
}

// Name implements Provider.
func (s *Simulated) Name() string { return s.name }

// Simulated implements Provider.
func (s *Simulated) Simulated() bool { return true }

func (s *Simulated) draw() (f, jitter float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rnd.Float64(), 0.8 + 0.4*s.rnd.Float64()
}

// Complete implements Provider.
func (s *Simulated) Complete(ctx context.Context, req Request) (Response, error) {
	roll, jitter := s.draw()
	switch {
	case roll < s.opts.RateLimitRate:
		if err := s.sleep(ctx, time.Duration(float64(50*time.Millisecond)*jitter)); err != nil {
			return Response{}, err
		}
		return Response{}, &RateLimitError{
			RetryAfter: s.scaled(500 * time.Millisecond),
			Err:        llmmetrics.NewError(llmmetrics.ErrorRateLimited, fmt.Errorf("%s: HTTP 429: simulated rate limit", s.name)),
		}
	case roll < s.opts.RateLimitRate+s.opts.ErrorRate:
		if err := s.sleep(ctx, 100*time.Millisecond); err != nil {
			return Response{}, err
		}
		return Response{}, llmmetrics.NewError(llmmetrics.ErrorServer, fmt.Errorf("%s: HTTP 503: simulated overload", s.name))
	}

	var text string
	switch req.Purpose {
	case PurposePlan:
		text = s.plan(req.Prompt)
	case PurposeResolve:
		text = resolve(req.Prompt)
	default:
		text = write(req.Prompt)
	}
	usage := llmmetrics.Usage{InputTokens: tokens(req.System) + tokens(req.Prompt), OutputTokens: tokens(text)}
	// Latency grows with the output, as it does for real models.
	d := time.Duration(float64(200*time.Millisecond+time.Duration(usage.OutputTokens)*4*time.Millisecond) * jitter)
	if err := s.sleep(ctx, d); err != nil {
		return Response{}, err
	}
	return Response{Text: text, Model: req.Model, Usage: usage}, nil
}

func (s *Simulated) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.opts.LatencyScale)
}

func (s *Simulated) sleep(ctx context.Context, d time.Duration) error {
	d = s.scaled(d)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// tokens estimates a text's tokens: about four characters each.
func tokens(s string) int64 { return int64((len(s) + 3) / 4) }

// PlanTask is one task of a plan, as the director returns it (the simulated
// provider writes this JSON; a real model is asked to).
type PlanTask struct {
	ID        string   `json:"id"`
	Profile   string   `json:"profile"`
	Title     string   `json:"title"`
	Files     []string `json:"files"`
	DependsOn []string `json:"depends_on,omitempty"`
}

// Plan is the director's answer.
type Plan struct {
	Tasks []PlanTask `json:"tasks"`
}

// plan splits an objective into a planner task, two coder tasks and a tester
// task; with ConflictRate the two coders get the same file.
func (s *Simulated) plan(objective string) string {
	s.mu.Lock()
	shared := s.rnd.Float64() < s.opts.ConflictRate
	s.mu.Unlock()
	second := "src/helpers.go"
	if shared {
		second = "src/main.go"
	}
	p := Plan{Tasks: []PlanTask{
		{ID: "plan", Profile: "planner", Title: "Write the design notes", Files: []string{"PLAN.md"}},
		{ID: "code-1", Profile: "coder", Title: "Implement the core", Files: []string{"src/main.go"}, DependsOn: []string{"plan"}},
		{ID: "code-2", Profile: "coder", Title: "Implement the helpers", Files: []string{second}, DependsOn: []string{"plan"}},
		{ID: "test", Profile: "tester", Title: "Write the tests", Files: []string{"src/main_test.go"}, DependsOn: []string{"code-1", "code-2"}},
	}}
	b, _ := json.Marshal(p)
	return string(b)
}

// write returns plausible file content for a task prompt.
func write(prompt string) string {
	var b strings.Builder
	title := firstLine(prompt)
	fmt.Fprintf(&b, "// %s\n", title)
	h := fnv.New32a()
	_, _ = h.Write([]byte(prompt))
	n := 8 + int(h.Sum32()%24)
	for i := range n {
		fmt.Fprintf(&b, "// step %d of %q: generated line %x\n", i+1, title, h.Sum32()+uint32(i))
	}
	return b.String()
}

// resolve merges the two sides of a conflict given in the prompt between
// <<<<<<< / ======= / >>>>>>> markers by keeping the lines of both.
func resolve(prompt string) string {
	var out []string
	for line := range strings.SplitSeq(prompt, "\n") {
		if strings.HasPrefix(line, "<<<<<<<") || strings.HasPrefix(line, "=======") || strings.HasPrefix(line, ">>>>>>>") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(line) > 80 {
		line = line[:80]
	}
	return line
}

// Bounds on a plan taken from a model's answer.
const (
	MaxPlanTasks = 32
	MaxTaskFiles = 16
)

// ErrNoPlan is returned by ParsePlan for an answer with no usable task.
var ErrNoPlan = errors.New("the plan has no usable task")

// ParsePlan reads a plan from a model's answer: the first JSON object in the
// text, with at least one task of a known profile.
func ParsePlan(text string) (Plan, error) {
	start, end := strings.IndexByte(text, '{'), strings.LastIndexByte(text, '}')
	if start < 0 || end <= start {
		return Plan{}, fmt.Errorf("%w: no JSON object", ErrNoPlan)
	}
	var p Plan
	if err := json.Unmarshal([]byte(text[start:end+1]), &p); err != nil {
		return Plan{}, fmt.Errorf("%w: %v", ErrNoPlan, err)
	}
	// A model's plan is untrusted input: known profiles only, unique ids,
	// bounded sizes.
	var ok []PlanTask
	seen := map[string]bool{}
	for _, t := range p.Tasks {
		if t.ID == "" || len(t.ID) > 64 || seen[t.ID] || len(t.Files) == 0 || len(ok) == MaxPlanTasks ||
			(t.Profile != "planner" && t.Profile != "coder" && t.Profile != "tester") {
			continue
		}
		seen[t.ID] = true
		if len(t.Files) > MaxTaskFiles {
			t.Files = t.Files[:MaxTaskFiles]
		}
		if len(t.Title) > 200 {
			t.Title = t.Title[:200]
		}
		ok = append(ok, t)
	}
	if len(ok) == 0 {
		return Plan{}, ErrNoPlan
	}
	p.Tasks = ok
	return p, nil
}
