package admit

import (
	"context"
	"sync"
	"time"
)

// GraceContext ends grace after ctx ends, with ctx's error as its cause:
// the single grace a shutdown allows past its deadline, shared by every
// step that runs past it.
func GraceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	gctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var timer *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(grace, func() { cancel(ctx.Err()) })
	})
	return gctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(context.Canceled)
	}
}

// DrainContext ends a little before ctx's deadline, keeping a reserve for
// cancelling what is left and writing its error results: a tenth of the
// time left, between 20 ms and 500 ms.
func DrainContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(max(time.Until(deadline)/10, 20*time.Millisecond), 500*time.Millisecond)
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}

// Stoppable returns ctx cancelled also when hard ends (with its cause) and
// when the carrier of ctx's calls ends (with the carrier's cause): a
// handler's context, which the go-sdk does not cancel when a session
// closes. cancel releases what it set up. When the carrier has a Cancel of
// its own, ctx descends from its context already: ctx is returned as it is,
// and cancel ends the carrier's context.
func Stoppable(ctx, hard context.Context) (_ context.Context, cancel context.CancelCauseFunc) {
	if c, ok := CarrierFrom(ctx); ok && c.Cancel != nil {
		// ctx descends from the carrier's, which is the call's own.
		stopHard := context.AfterFunc(hard, func() { c.Cancel(context.Cause(hard)) })
		return ctx, func(cause error) {
			stopHard()
			c.Cancel(cause)
		}
	}
	ctx, cancelCause := context.WithCancelCause(ctx)
	stopHard := context.AfterFunc(hard, func() { cancelCause(context.Cause(hard)) })
	stopCarrier := func() bool { return false }
	if c, ok := CarrierFrom(ctx); ok {
		stopCarrier = context.AfterFunc(c.Ctx, func() { cancelCause(c.Cause()) })
	}
	return ctx, func(cause error) {
		stopHard()
		stopCarrier()
		cancelCause(cause)
	}
}
