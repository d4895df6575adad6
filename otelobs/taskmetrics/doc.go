// Package taskmetrics instruments the Agent Orchestrator's tasks and
// workers: the director plans a run into tasks, and planner, coder and tester
// workers execute them. It uses only the OpenTelemetry API.
//
//	m, err := taskmetrics.New() // after otelobs.Setup; uses the global providers
//
//	w := m.StartWorker(ctx, taskmetrics.Coder)
//	defer w.End()
//
//	task := m.NewTask(ctx, taskmetrics.TaskInfo{ID: id, RunID: run, Profile: taskmetrics.Coder}) // planned
//	_ = task.Ready(ctx)                                                                         // ready
//	ctx, exec, err := task.Start(ctx, workerID)                                                 // active
//	…
//	exec.Retry(err) // attempt failed, run it again: back to ready
//	exec.End(&err)  // for good: complete (nil) or failed; only the first End or Retry records
//
// # Instruments
//
//	OTel instrument           Kind        Unit      Attributes               Prometheus series (both export paths)
//	task.states               up-down     {task}    state                    task_states{state} (gauge)
//	active_tasks              up-down     {task}    worker_profile           active_tasks{worker_profile} (gauge)
//	active_workers            up-down     {worker}  worker_profile           active_workers{worker_profile} (gauge)
//	task.execution.duration   histogram   s         worker_profile, status   task_execution_duration_seconds_bucket/_sum/_count
//	task.completion           counter     {task}    status, worker_profile   task_completion_total
//	task.retry.count          histogram   {retry}   worker_profile           task_retry_count_bucket/_sum/_count
//	otelobs.label.folded      counter     {measurement} package, label       otelobs_label_folded_total (tasks and workers recorded as _OTHER)
//
// worker_profile is a vocabulary: planner, coder and tester are built in,
// WithProfiles adds an agent system's own roles (up to MaxProfiles), and
// any other value is recorded as _OTHER and counted in
// otelobs_label_folded_total, so no caller can create unbounded series. The
// other labels are semantics, not vocabulary, and stay fixed: state is
// planned, ready, active, complete, failed (the state machine's states);
// status is success or failure. Task ids, names, run ids and worker ids go
// on spans only.
//
// Each execution attempt is measured: task.execution.duration and
// task.completion count attempts, so a task retried twice and then completed
// adds two failures and one success, and task.retry.count records 2 when it
// ends. The duration buckets run from 1 s to 20 min
// (ExecutionDurationBuckets).
//
// # States
//
// A Task is in exactly one state, and task_states counts each task once:
// transitions are compare-and-swap operations, an invalid one returns
// ErrTransition and records nothing, and the new state is counted before the
// old one is released, so no collection sees a negative count. Allowed
// transitions: planned → ready (Ready), planned | ready → active (Start),
// active → ready (ExecOp.Retry), active → complete | failed (ExecOp.End),
// planned | ready → failed (Cancel). Terminal tasks stay counted in complete
// or failed for the life of the process, as the guide's "Task States" panel
// expects.
//
// # Mapping to the CI/CD semantic conventions
//
//	ours                         cicd.* conventions
//	planned, ready               cicd.pipeline.run.state = pending
//	active                       cicd.pipeline.run.state = executing
//	complete / failed            cicd.pipeline.task.run.result = success / failure
//	task id, name, run id        cicd.pipeline.task.run.id, cicd.pipeline.task.name, cicd.pipeline.run.id (span attributes)
//	worker id                    cicd.worker.id (span attribute)
//	active_workers               cicd.worker.count{cicd.worker.state=available|busy}, summed
//	active_tasks                 cicd.worker.count{cicd.worker.state=busy}, per profile
//
// # Spans and exemplars
//
// Start begins a task.execute span with the attributes above, worker_profile
// and task.attempt; its end carries cicd.pipeline.task.run.result and, on
// failure, error.type and an error status. The duration, completion and
// retry measurements are recorded with the span's context, so their
// exemplars lead to the attempt's trace. The gauges (up-down counters) carry
// no exemplar on the Prometheus pull path.
//
// # Concurrency
//
// Metrics and Task are safe for concurrent use. An ExecOp or WorkerOp belongs
// to one goroutine; ending it twice records once.
package taskmetrics
