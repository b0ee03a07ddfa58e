package admit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The grace starts when ctx ends, not before, and ends with ctx's error.
func TestGraceContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	gctx, stop := GraceContext(ctx, time.Millisecond)
	defer stop()
	time.Sleep(5 * time.Millisecond) // many graces: still none has started
	if gctx.Err() != nil {
		t.Fatal("the grace ended before ctx did")
	}
	cancel()
	<-gctx.Done()
	if !errors.Is(context.Cause(gctx), context.Canceled) {
		t.Errorf("cause %v, want ctx's error", context.Cause(gctx))
	}

	// Its cancel ends it at once, whatever the grace.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	gctx2, stop2 := GraceContext(ctx2, time.Hour)
	stop2()
	<-gctx2.Done()
}

// The drain keeps a reserve before the deadline: a tenth of the time left,
// at least 20 ms and at most 500 ms; without a deadline it has none.
func TestDrainContext(t *testing.T) {
	for _, tc := range []struct{ left, reserve time.Duration }{
		{time.Second, 100 * time.Millisecond},
		{100 * time.Millisecond, 20 * time.Millisecond},
		{time.Minute, 500 * time.Millisecond},
	} {
		deadline := time.Now().Add(tc.left)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		dctx, dcancel := DrainContext(ctx)
		got, ok := dctx.Deadline()
		// The reserve is taken from the time left when DrainContext ran,
		// a moment after deadline was set.
		if !ok || deadline.Sub(got) > tc.reserve || deadline.Sub(got) < tc.reserve-10*time.Millisecond {
			t.Errorf("%v left: drain deadline %v before ctx's, want %v", tc.left, deadline.Sub(got), tc.reserve)
		}
		dcancel()
		cancel()
	}
	dctx, dcancel := DrainContext(context.Background())
	defer dcancel()
	if _, ok := dctx.Deadline(); ok {
		t.Error("a drain without a deadline got one")
	}
}

// A handler's context ends with the hard stop's cause, or its carrier's,
// whichever comes first, and its cancel detaches it from both.
func TestStoppable(t *testing.T) {
	errHard, errGone := errors.New("hard stop"), errors.New("carrier gone")

	hard, stopHard := context.WithCancelCause(context.Background())
	ctx, cancel := Stoppable(context.Background(), hard)
	defer cancel(nil)
	stopHard(errHard)
	<-ctx.Done()
	if context.Cause(ctx) != errHard {
		t.Errorf("after the hard stop: cause %v", context.Cause(ctx))
	}

	carrier, endCarrier := context.WithCancel(context.Background())
	base := WithCarrier(context.Background(), Carrier{Ctx: carrier, Cause: func() error { return errGone }})
	ctx, cancel = Stoppable(base, context.Background())
	defer cancel(nil)
	endCarrier()
	<-ctx.Done()
	if context.Cause(ctx) != errGone {
		t.Errorf("after the carrier ended: cause %v", context.Cause(ctx))
	}

	hard2, stopHard2 := context.WithCancelCause(context.Background())
	ctx, cancel = Stoppable(context.Background(), hard2)
	cancel(nil)
	stopHard2(errHard)
	if context.Cause(ctx) != context.Canceled {
		t.Errorf("after its own cancel: cause %v, want context.Canceled", context.Cause(ctx))
	}

	// A carrier whose context is the call's own: Stoppable adds no layer,
	// and the hard stop and the cancel end the carrier's context.
	for _, end := range []string{"hard", "cancel"} {
		own, cancelOwn := context.WithCancelCause(context.Background())
		base := WithCarrier(own, Carrier{Ctx: own, Cause: func() error { return context.Cause(own) }, Cancel: cancelOwn})
		hard, stopHard := context.WithCancelCause(context.Background())
		ctx, cancel := Stoppable(base, hard)
		if ctx != base {
			t.Errorf("a carrier with its own cancel: Stoppable made a new context")
		}
		want := errHard
		if end == "hard" {
			stopHard(errHard)
			<-own.Done()
		} else {
			cancel(errGone)
			stopHard(errHard)
			want = errGone
		}
		if context.Cause(ctx) != want {
			t.Errorf("%s: cause %v, want %v", end, context.Cause(ctx), want)
		}
		cancel(nil)
	}
}
