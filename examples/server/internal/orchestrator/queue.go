package orchestrator

import "sync"

// jobQueue is a worker pool's queue of ready tasks, first in, first out.
// Adding a job never blocks and parks no goroutine: a ready task waiting for
// a busy pool is one entry here. Its length is bounded by the unfinished runs
// (Config.MaxActiveRuns) times the tasks of a plan (provider.MaxPlanTasks).
type jobQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	jobs   []*job
	closed bool
}

func newJobQueue() *jobQueue {
	q := &jobQueue{}
	q.cond.L = &q.mu
	return q
}

// push adds j; it reports false, and adds nothing, once the queue is closed.
func (q *jobQueue) push(j *job) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.jobs = append(q.jobs, j)
	q.cond.Signal()
	return true
}

// pop waits for the oldest job and takes it; it reports false once the queue
// is closed and empty.
func (q *jobQueue) pop() (*job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.jobs) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.jobs) == 0 {
		return nil, false
	}
	j := q.jobs[0]
	q.jobs[0] = nil
	q.jobs = q.jobs[1:]
	return j, true
}

// close refuses further jobs; the workers take what is left, then stop.
func (q *jobQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
