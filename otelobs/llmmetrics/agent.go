package llmmetrics

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// Agent describes an agent's LLM-driven step (StartAgent).
type Agent struct {
	// Name is the agent's name, gen_ai.agent.name: for the Agent
	// Orchestrator's workers, their profile (planner, coder, tester).
	Name string
	// ID is the agent's id, gen_ai.agent.id, if it has one.
	ID string
	// Provider is the LLM provider the agent uses, gen_ai.provider.name,
	// if known.
	Provider string
}

// Tool describes a tool the application runs for an agent (StartTool).
type Tool struct {
	// Name is the tool's name, gen_ai.tool.name.
	Name string
	// Type is gen_ai.tool.type: function (the default), extension or
	// datastore.
	Type string
	// CallID is the id of the model's tool call this runs, if any
	// (gen_ai.tool.call.id).
	CallID string
}

// SpanOp is an agent step or a tool run in progress: end it with a pointer
// to its error, as CallOp. It records no metrics: the LLM calls inside an
// agent step are CallOps of their own, and a tool's work is the
// application's. A SpanOp is safe for concurrent use; only the first End
// ends the span.
type SpanOp struct {
	span trace.Span
	once sync.Once
}

var internalKind = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}

// StartAgent starts an agent's step: an internal span "invoke_agent {name}"
// (the conventions' span for an agent run in-process) with
// gen_ai.operation.name invoke_agent and the agent's attributes. The LLM
// calls started in the returned context are its children.
func (m *Metrics) StartAgent(ctx context.Context, a Agent) (context.Context, *SpanOp) {
	name := string(OperationInvokeAgent)
	if a.Name != "" {
		name += " " + a.Name
	}
	ctx, span := m.tracer.Start(ctx, name, internalKind...)
	if span.IsRecording() {
		span.SetAttributes(semconv.GenAIOperationNameKey.String(string(OperationInvokeAgent)))
		if a.Name != "" {
			span.SetAttributes(semconv.GenAIAgentName(a.Name))
		}
		if a.ID != "" {
			span.SetAttributes(semconv.GenAIAgentID(a.ID))
		}
		if a.Provider != "" {
			span.SetAttributes(semconv.GenAIProviderNameKey.String(genAIProviderName(a.Provider)))
		}
	}
	return ctx, &SpanOp{span: span}
}

// StartTool starts a tool run: an internal span "execute_tool {name}" with
// gen_ai.operation.name execute_tool, gen_ai.tool.name, gen_ai.tool.type
// and gen_ai.tool.call.id. Count the tool calls a model asks for with
// CallOp.SetToolCalls; a tool run is not an LLM request.
func (m *Metrics) StartTool(ctx context.Context, t Tool) (context.Context, *SpanOp) {
	name := string(OperationExecuteTool)
	if t.Name != "" {
		name += " " + t.Name
	}
	typ := t.Type
	switch typ {
	case "function", "extension", "datastore":
	default:
		typ = "function"
	}
	ctx, span := m.tracer.Start(ctx, name, internalKind...)
	if span.IsRecording() {
		span.SetAttributes(semconv.GenAIOperationNameKey.String(string(OperationExecuteTool)),
			semconv.GenAIToolName(t.Name), semconv.GenAIToolTypeKey.String(typ))
		if t.CallID != "" {
			span.SetAttributes(semconv.GenAIToolCallID(t.CallID))
		}
	}
	return ctx, &SpanOp{span: span}
}

// End ends the span with the error *errp (errp may be nil): on failure,
// error.type (the ErrorType of Classify) and an error status.
func (s *SpanOp) End(errp *error) {
	if s == nil || s.span == nil {
		return
	}
	s.once.Do(func() {
		if errp != nil && *errp != nil {
			s.span.SetAttributes(semconv.ErrorTypeKey.String(string(Classify(*errp))))
			s.span.SetStatus(codes.Error, instr.ScrubError(*errp))
		}
		s.span.End()
	})
}
