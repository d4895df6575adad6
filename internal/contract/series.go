package contract

// Series is one Prometheus series family of the contract: the metric name
// (for histograms, the base name of _bucket/_sum/_count) and its label names.
type Series struct {
	Name      string
	Histogram bool
	Labels    []string
}

// Contract lists the series the observability guide's queries, panels and
// alerts use, with the labels each carries, on both export paths. job and
// instance, which Prometheus adds, are not listed.
var Contract = []Series{
	{Name: "git_active_merges"},
	{Name: "active_tasks", Labels: []string{"worker_profile"}},
	{Name: "git_merge_duration_seconds", Histogram: true, Labels: []string{"result"}},
	{Name: "git_merge_total", Labels: []string{"result"}},
	{Name: "task_states", Labels: []string{"state"}},
	{Name: "task_execution_duration_seconds", Histogram: true, Labels: []string{"status", "worker_profile"}},
	{Name: "llm_cost_dollars_total", Labels: []string{"model", "provider"}},
	{Name: "llm_requests_total", Labels: []string{"model", "provider"}},
	{Name: "llm_tokens_total", Labels: []string{"model", "provider"}},
	{Name: "llm_rate_limit_events_total", Labels: []string{"model", "provider"}},
	{Name: "git_lock_wait_duration_seconds", Histogram: true},
	{Name: "task_completion_total", Labels: []string{"status", "worker_profile"}},
	{Name: "task_retry_count", Histogram: true, Labels: []string{"worker_profile"}},
	{Name: "active_workers", Labels: []string{"worker_profile"}},
}

// LabelValues are the values the contract's enumerated labels may take.
var LabelValues = map[string][]string{
	"result":         {"success", "conflict", "error"},
	"state":          {"planned", "ready", "active", "complete", "failed"},
	"worker_profile": {"planner", "coder", "tester"},
	"status":         {"success", "failure"},
}
