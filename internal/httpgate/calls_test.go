package httpgate

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dorismcp/doris/internal/admit"
)

// A stateless call ends with its request, with the reason the request
// ended: ErrRequestClosed when the client went away, the host's own cause
// (a deadline, say) otherwise; and by a cancellation naming it.
func TestStatelessCallEnds(t *testing.T) {
	budget := admit.NewBudget(1<<20, 1, time.Second)
	errHost := errors.New("host gave up")
	for _, direct := range []bool{false, true} {
		for _, tc := range []struct {
			name string
			end  func(cancel context.CancelCauseFunc, c *statelessCalls, r *http.Request)
			want error
		}{
			{"client gone", func(cancel context.CancelCauseFunc, _ *statelessCalls, _ *http.Request) { cancel(nil) }, ErrRequestClosed},
			{"host's cause", func(cancel context.CancelCauseFunc, _ *statelessCalls, _ *http.Request) { cancel(errHost) }, errHost},
			{"cancelled by id", func(_ context.CancelCauseFunc, c *statelessCalls, r *http.Request) { c.cancel(callKey(r, "7")) }, ErrCancelledByClient},
		} {
			base, cancel := context.WithCancelCause(context.Background())
			r, _ := http.NewRequestWithContext(base, http.MethodPost, "/mcp", nil)
			var c statelessCalls
			r2, end := c.prepare(r, inspection{calls: 1, rawID: "7"}, "", budget, direct)
			ctx := r2.Context()
			if !direct {
				// The go-sdk's handlers get the request's values, and end
				// with the carrier (see admit.Stoppable).
				carrier, ok := admit.CarrierFrom(ctx)
				if !ok {
					t.Fatal("no carrier")
				}
				ctx = carrier.Ctx
			}
			tc.end(cancel, &c, r)
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatalf("direct %v, %s: the call did not end", direct, tc.name)
			}
			got := context.Cause(ctx)
			if !direct {
				carrier, _ := admit.CarrierFrom(r2.Context())
				got = carrier.Cause()
			}
			if got != tc.want {
				t.Errorf("direct %v, %s: cause %v, want %v", direct, tc.name, got, tc.want)
			}
			end()
			cancel(nil)
		}
	}
}
