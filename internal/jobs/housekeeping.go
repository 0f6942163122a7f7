package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/store"
)

// HousekeepingArgs is the periodic clean-up job. Instance records which
// process scheduled it, which shows that only the leader schedules.
type HousekeepingArgs struct {
	Instance string `json:"instance"`
}

// Kind names the job in the queue.
func (HousekeepingArgs) Kind() string { return "housekeeping" }

// HousekeepingWorker deletes expired sessions.
type HousekeepingWorker struct {
	river.WorkerDefaults[HousekeepingArgs]
	DB     *store.DB
	Now    func() time.Time
	Logger *slog.Logger
}

// Work runs one clean-up.
func (w *HousekeepingWorker) Work(ctx context.Context, job *river.Job[HousekeepingArgs]) error {
	n, err := w.DB.DeleteExpiredSessions(ctx, w.Now())
	if err != nil {
		return err
	}
	if n > 0 {
		w.Logger.Info("expired sessions removed", "count", n)
	}
	return nil
}

// HousekeepingSchedule is the periodic job: every interval, scheduled by
// whichever process is leader, which stamps its own id on the job.
func HousekeepingSchedule(interval time.Duration, instance string) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return HousekeepingArgs{Instance: instance}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}
