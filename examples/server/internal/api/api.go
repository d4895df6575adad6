// Package api is the Agent Orchestrator's HTTP API: POST /runs, GET /runs,
// GET /runs/{id} and GET /healthz. Errors are JSON objects naming the field
// at fault; a model with no price is a 400 on its model_name while a budget
// is set. POST /runs answers 429 with a Retry-After while the orchestrator
// has as many unfinished runs as it may; once the server is shutting down,
// POST /runs and GET /healthz answer 503. HostGuard checks the Host of a
// loopback-bound server.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
	"github.com/agentorchestrator/observability/examples/server/internal/provider"
)

// MaxBodyBytes bounds a POST /runs body.
const MaxBodyBytes = 64 << 10

// MaxObjectiveLen bounds the objective, in bytes.
const MaxObjectiveLen = 8000

// BusyRetryAfter is the Retry-After, in seconds, of a POST /runs refused
// with 429 because the orchestrator has as many unfinished runs as it may.
const BusyRetryAfter = "5"

// Orchestrator is what the API needs of the orchestrator.
type Orchestrator interface {
	Submit(ctx context.Context, spec orchestrator.Spec) (*orchestrator.Run, error)
	Get(id string) (orchestrator.View, bool)
	List(limit int) []orchestrator.View
	// Accepting is false once the server is shutting down.
	Accepting() bool
}

// Workspaces validates workspace paths. Check returns the resolved path, or
// an error phrased to follow the path (`is not an absolute path`, `is a git
// repository the server did not create …`), which becomes a 400 naming
// workspace_path.
type Workspaces interface {
	Check(ctx context.Context, path string) (string, error)
}

// Defaults apply when a request leaves a field out.
type Defaults struct {
	Workspace string
	Model     orchestrator.ModelRef
}

// Handler serves the API.
type Handler struct {
	orch     Orchestrator
	ws       Workspaces
	defaults Defaults
	log      *slog.Logger
	mux      *http.ServeMux
}

// New returns the API handler.
func New(o Orchestrator, ws Workspaces, d Defaults, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{orch: o, ws: ws, defaults: d, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /runs", h.createRun)
	h.mux.HandleFunc("GET /runs", h.listRuns)
	h.mux.HandleFunc("GET /runs/{id}", h.getRun)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	return h
}

// Register mounts the API on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("/runs", h.mux)
	mux.Handle("/runs/", h.mux)
	mux.Handle("/healthz", h.mux)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Error is the body of every error response.
type Error struct {
	Error struct {
		Field   string `json:"field,omitempty"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	var e Error
	e.Error.Field, e.Error.Message = field, msg
	writeJSON(w, status, e)
}

// modelRef is the guide's {"provider": …, "model_name": …}.
type modelRef struct {
	Provider  *string `json:"provider"`
	ModelName *string `json:"model_name"`
}

// createRunRequest is the guide's body.
type createRunRequest struct {
	Objective     *string `json:"objective"`
	WorkspacePath *string `json:"workspace_path"`
	OrchConfig    *struct {
		DirectorModel *modelRef `json:"director_model"`
		WorkerModel   *modelRef `json:"worker_model"`
	} `json:"orch_config"`
}

// fieldError is a validation failure of one field.
type fieldError struct {
	status       int
	field, issue string
}

func (e *fieldError) Error() string { return e.field + ": " + e.issue }

var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$`)

func (h *Handler) model(field string, m *modelRef) (orchestrator.ModelRef, error) {
	out := h.defaults.Model
	if m == nil {
		return out, nil
	}
	if m.Provider != nil {
		p := strings.ToLower(strings.TrimSpace(*m.Provider))
		if !provider.IsKnown(p) {
			return out, &fieldError{http.StatusBadRequest, field + ".provider",
				fmt.Sprintf("unknown provider %q; known: %s", *m.Provider,
					strings.Join(slices.Sorted(maps.Keys(provider.Known)), ", "))}
		}
		out.Provider = p
	}
	if m.ModelName != nil {
		name := strings.TrimSpace(*m.ModelName)
		if !modelName.MatchString(name) {
			return out, &fieldError{http.StatusBadRequest, field + ".model_name",
				"must be 1 to 128 letters, digits or . _ : / @ -"}
		}
		out.Model = name
	}
	return out, nil
}

func (h *Handler) parse(r *http.Request) (orchestrator.Spec, error) {
	// application/json is required, not only checked when present: a page
	// of any origin can send a body without a Content-Type (or as
	// text/plain) with no CORS preflight, and so start runs; JSON needs one.
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		got := ct
		if got == "" {
			got = "none"
		}
		return orchestrator.Spec{}, &fieldError{http.StatusUnsupportedMediaType, "Content-Type",
			"must be application/json, got " + got}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var req createRunRequest
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return orchestrator.Spec{}, &fieldError{http.StatusRequestEntityTooLarge, "body",
				fmt.Sprintf("larger than %d bytes", MaxBodyBytes)}
		case errors.As(err, &typ):
			return orchestrator.Spec{}, &fieldError{http.StatusBadRequest, typ.Field,
				fmt.Sprintf("must be a %s, not a %s", typ.Type, typ.Value)}
		case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return orchestrator.Spec{}, &fieldError{http.StatusBadRequest, "body", "malformed JSON: " + err.Error()}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return orchestrator.Spec{}, &fieldError{http.StatusBadRequest, f, "unknown field"}
		}
		return orchestrator.Spec{}, &fieldError{http.StatusBadRequest, "body", err.Error()}
	}
	if dec.More() {
		return orchestrator.Spec{}, &fieldError{http.StatusBadRequest, "body", "more than one JSON value"}
	}
	var spec orchestrator.Spec
	switch {
	case req.Objective == nil:
		return spec, &fieldError{http.StatusBadRequest, "objective", "is required"}
	case strings.TrimSpace(*req.Objective) == "":
		return spec, &fieldError{http.StatusBadRequest, "objective", "is empty"}
	case len(*req.Objective) > MaxObjectiveLen:
		return spec, &fieldError{http.StatusBadRequest, "objective", fmt.Sprintf("is longer than %d bytes", MaxObjectiveLen)}
	}
	spec.Objective = strings.TrimSpace(*req.Objective)
	ws := h.defaults.Workspace
	if req.WorkspacePath != nil {
		ws = *req.WorkspacePath
	}
	resolved, err := h.ws.Check(r.Context(), ws)
	if err != nil {
		return spec, &fieldError{http.StatusBadRequest, "workspace_path", fmt.Sprintf("%q %v", ws, err)}
	}
	spec.Workspace = resolved
	var dm, wm *modelRef
	if req.OrchConfig != nil {
		dm, wm = req.OrchConfig.DirectorModel, req.OrchConfig.WorkerModel
	}
	if spec.Director, err = h.model("orch_config.director_model", dm); err != nil {
		return spec, err
	}
	if spec.Worker, err = h.model("orch_config.worker_model", wm); err != nil {
		return spec, err
	}
	return spec, nil
}

func (h *Handler) createRun(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	spec, err := h.parse(r)
	if err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			writeError(w, fe.status, fe.field, fe.issue)
			return
		}
		writeError(w, http.StatusBadRequest, "body", err.Error())
		return
	}
	run, err := h.orch.Submit(r.Context(), spec)
	var unpriced *orchestrator.UnpricedModelError
	if errors.As(err, &unpriced) {
		writeError(w, http.StatusBadRequest, "orch_config."+unpriced.Role+"_model.model_name", unpriced.Error())
		return
	}
	if errors.Is(err, orchestrator.ErrShuttingDown) {
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusServiceUnavailable, "", "the server is shutting down and accepts no new runs; retry on another instance")
		return
	}
	if errors.Is(err, orchestrator.ErrTooManyRuns) {
		w.Header().Set("Retry-After", BusyRetryAfter)
		writeError(w, http.StatusTooManyRequests, "", err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	// From the run itself: one that failed at once may already be evicted.
	v := run.View()
	w.Header().Set("Location", "/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{
		"run_id":     v.ID,
		"state":      v.State,
		"status_url": "/runs/" + v.ID,
		"trace_id":   v.TraceID,
		"simulated":  v.Simulated,
	})
}

// healthz answers 200 while the server accepts runs, and 503 from the
// first SIGTERM on, so that a load balancer stops sending it runs while it
// drains.
func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request) {
	if !h.orch.Accepting() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

var runID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func (h *Handler) getRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !runID.MatchString(id) {
		writeError(w, http.StatusBadRequest, "id", "a run id is 16 hexadecimal digits")
		return
	}
	v, ok := h.orch.Get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "id", "no run "+id)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *Handler) listRuns(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"runs": h.orch.List(100)})
}
