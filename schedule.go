package sse

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/robfig/cron/v3"
)

// ScheduleID identifies a job added by [Broker.Schedule].
type ScheduleID int

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule runs job on a wall-clock schedule until [Broker.Unschedule] or
// [Broker.Shutdown]. spec is a cron expression with an optional leading
// seconds field ("*/5 * * * * *", "0 9 * * MON") or a descriptor
// ("@hourly", "@every 5s"). The job runs on its own goroutine with a
// context that is cancelled at Shutdown, which waits for running jobs; a
// job that panics is recovered and logged, and runs again at its next
// time. A job still running when its next time comes is not started
// twice.
func (b *Broker) Schedule(spec string, job func(ctx context.Context)) (ScheduleID, error) {
	if job == nil {
		return 0, fmt.Errorf("sse: schedule %q: nil job", spec)
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return 0, fmt.Errorf("sse: schedule %q: %w", spec, err)
	}
	b.cronMu.Lock()
	defer b.cronMu.Unlock()
	if b.isClosed() {
		return 0, ErrClosed
	}
	if b.cron == nil {
		logger := cronLogger{b}
		// SkipIfStillRunning must wrap Recover: it returns its token
		// without a defer, so a panic passing through it would stop the
		// job for good.
		b.cron = cron.New(cron.WithParser(cronParser), cron.WithLogger(logger),
			cron.WithChain(cron.SkipIfStillRunning(logger), cron.Recover(logger)))
		b.cron.Start()
	}
	id := b.cron.Schedule(sched, cron.FuncJob(func() { job(b.jobCtx) }))
	return ScheduleID(id), nil
}

// Unschedule stops future runs of the job; a run in progress finishes.
func (b *Broker) Unschedule(id ScheduleID) {
	b.cronMu.Lock()
	defer b.cronMu.Unlock()
	if b.cron != nil {
		b.cron.Remove(cron.EntryID(id))
	}
}

// cronLogger routes cron's messages to the broker's logger and panics in
// jobs to Config.OnError.
type cronLogger struct{ b *Broker }

func (l cronLogger) Info(msg string, kv ...any) {
	l.b.log.Debug("sse: cron: "+msg, kv...)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.b.log.Error("sse: cron: "+msg, append(kv, slog.Any("error", err))...)
	l.b.hookError(nil, fmt.Errorf("sse: scheduled job: %s: %w", msg, err))
}
