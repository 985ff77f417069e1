package sse_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/roomcast/sse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errs := make(chan error, 100)
		b, err := newSSE(sse.Config{OnError: func(_ *sse.Client, err error) {
			select {
			case errs <- err:
			default: // hooks must not block
			}
		}})
		require.NoError(t, err)
		w, _, cancel := serveMem(t, b)

		ticks := 0
		id, err := b.Schedule("@every 5s", func(ctx context.Context) {
			ticks++
			_ = b.PublishAll(ctx, sse.Event{Name: "tick", Data: ticks})
		})
		require.NoError(t, err)
		panics := 0
		panicky, err := b.Schedule("*/2 * * * * *", func(context.Context) {
			panics++
			panic("job failed")
		})
		require.NoError(t, err)

		time.Sleep(16 * time.Second)
		synctest.Wait()
		assert.Equal(t, 3, ticks)
		assert.Contains(t, w.String(), "event: tick\ndata: 3\n\n")
		assert.GreaterOrEqual(t, panics, 7, "a panicking job keeps its schedule")
		require.Len(t, errs, panics)
		assert.ErrorContains(t, <-errs, "job failed")

		b.Unschedule(id)
		b.Unschedule(panicky)
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, 3, ticks, "no run after Unschedule")

		_, err = b.Schedule("not a spec", func(context.Context) {})
		assert.ErrorContains(t, err, "not a spec")
		_, err = b.Schedule("@every 1s", nil)
		assert.Error(t, err)

		cancel()
		require.NoError(t, b.Shutdown(context.Background()))
	})
}

func TestShutdownCancelsRunningJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := newSSE(sse.Config{})
		require.NoError(t, err)
		started := make(chan struct{})
		finished := false
		_, err = b.Schedule("@every 1s", func(ctx context.Context) {
			close(started)
			<-ctx.Done()
			time.Sleep(time.Second) // clean-up that Shutdown waits for
			finished = true
		})
		require.NoError(t, err)
		<-started
		require.NoError(t, b.Shutdown(context.Background()))
		assert.True(t, finished, "Shutdown waits for a running job")
		_, err = b.Schedule("@every 1s", func(context.Context) {})
		assert.ErrorIs(t, err, sse.ErrClosed)
	})
}
