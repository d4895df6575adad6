package contract

// GuideQuery is a PromQL expression from the observability guide, with the
// corrected form where the guide's does not parse or does not compute what
// its comment says.
type GuideQuery struct {
	// Section and Title say where the guide has it and what it claims.
	Section, Title string
	// Query is the guide's expression, verbatim.
	Query string
	// Alert marks alert expressions (a comparison): they may rightly return
	// nothing, so only their parsing is checked.
	Alert bool
	// Problem says what is wrong with Query; empty when it is right.
	Problem string
	// Fixed is the corrected expression, when Problem is set.
	Fixed string
	// SyntaxError marks a Query that does not parse at all.
	SyntaxError bool
}

// GuideQueries are every PromQL expression of the guide's "Useful Prometheus
// Queries", "Customizing Grafana" and "Setting Up Alerts" sections.
var GuideQueries = []GuideQuery{
	{Section: "Git Operations", Title: "Average merge duration (last 5 min)",
		Query: `rate(git_merge_duration_seconds_sum[5m]) / rate(git_merge_duration_seconds_count[5m])`},
	{Section: "Git Operations", Title: "Conflict rate percentage",
		Query: `100 * rate(git_merge_total{result="conflict"}[5m]) / rate(git_merge_total[5m])`,
		Problem: "Both sides keep the result label, so one-to-one matching pairs the conflict series only with " +
			"itself: the answer is 100 whenever there was any conflict, and nothing otherwise. Sum both sides.",
		Fixed: `100 * sum(rate(git_merge_total{result="conflict"}[5m])) / sum(rate(git_merge_total[5m]))`},
	{Section: "Git Operations", Title: "Peak concurrent merges",
		Query: `max_over_time(git_active_merges[1h])`},
	{Section: "Task Execution", Title: "Task completion rate (tasks/sec)",
		Query: `rate(task_completion_total{status="success"}[5m])`},
	{Section: "Task Execution", Title: "Average retries per task",
		Query: `rate(task_retry_count_sum[5m]) / rate(task_retry_count_count[5m])`},
	{Section: "Task Execution", Title: "Worker utilization",
		Query: `sum(active_workers) by (worker_profile)`},
	{Section: "LLM Costs", Title: "Cost per hour (estimate)",
		Query: `rate(llm_cost_dollars_total[1h]) * 3600`},
	{Section: "LLM Costs", Title: "Tokens per request",
		Query: `rate(llm_tokens_total[5m]) / rate(llm_requests_total[5m])`},
	{Section: "LLM Costs", Title: "Most expensive model",
		Query:       `topk(3, rate(llm_cost_dollars_total[5m]) by (model))`,
		SyntaxError: true,
		Problem: "Does not parse: `by (model)` can only follow an aggregation, not rate(). Aggregate by model " +
			"first, then take the top 3.",
		Fixed: `topk(3, sum by (model) (rate(llm_cost_dollars_total[5m])))`},
	{Section: "Customizing Grafana", Title: "Merge Lock Wait Time (p95)",
		Query: `histogram_quantile(0.95, sum(rate(git_lock_wait_duration_seconds_bucket[5m])) by (le))`},
	{Section: "Customizing Grafana", Title: "Worker Success Rate (%)",
		Query: "100 * sum(rate(task_completion_total{status=\"success\"}[5m])) by (worker_profile)\n" +
			"  / sum(rate(task_completion_total[5m])) by (worker_profile)"},
	{Section: "Alerts", Title: "ConcurrentMerges: multiple concurrent git merges",
		Query: `git_active_merges > 1`, Alert: true},
	{Section: "Alerts", Title: "HighConflictRate: more than 50% of merges have conflicts",
		Query: `rate(git_merge_total{result="conflict"}[5m]) > 0.5`, Alert: true,
		Problem: "Compares conflicts per second with 0.5, not the share of merges that conflict: one conflict " +
			"every 3 s fires it even if 99% of merges succeed, and 50% conflicts at a low merge rate never does.",
		Fixed: `sum(rate(git_merge_total{result="conflict"}[5m])) / sum(rate(git_merge_total[5m])) > 0.5`},
	{Section: "Alerts", Title: "HighLLMCost: LLM costs exceeded $10 (\"Total cost\")",
		Query: `llm_cost_dollars_total > 10`, Alert: true,
		Problem: "Tests each provider/model series on its own, so $9 on each of three models never fires; " +
			"the description promises the total. Sum the series.",
		Fixed: `sum(llm_cost_dollars_total) > 10`},
	{Section: "Alerts", Title: "RateLimitErrors: frequent rate limit errors",
		Query: `rate(llm_rate_limit_events_total[5m]) > 0.1`, Alert: true},
}
