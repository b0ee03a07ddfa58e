package httpgate

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/dorismcp/doris/internal/admit"
)

// statelessCalls finds the stateless calls in flight by who sent them and
// their JSON-RPC id, for clients (the TypeScript SDK, say) that cancel a
// call with a notifications/cancelled on a request of its own while the
// call's request stays open. Without a session, only the principal and the
// id tell calls apart: a cancellation is honoured when exactly one call in
// flight matches it, and never for anonymous callers served without
// authentication, who cannot be told apart.
type statelessCalls struct {
	mu    sync.Mutex
	calls map[string][]*context.CancelCauseFunc
}

// callKey identifies a stateless call: its caller and its id.
func callKey(r *http.Request, id string) string {
	return Requester(r) + "\x00" + id
}

// prepare readies the calls of a stateless request: their results are
// charged to budget until the response has been written, and they are
// cancelled when the request ends, since a stateless call can only be
// answered on its own request (the go-sdk does this only for MCP
// 2026-07-28). end runs once the response is written. A direct call
// (direct) runs on the request's own context, which ends with the call.
func (c *statelessCalls) prepare(r *http.Request, in inspection, who string, budget *admit.Budget, direct bool) (_ *http.Request, end func()) {
	charge := budget.Charge(who)
	if direct {
		cctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
		stop := context.AfterFunc(r.Context(), func() { cancel(requestEnded(r.Context())) })
		remove := c.add(callKey(r, in.rawID), cancel)
		ctx := admit.WithCarrier(cctx, admit.Carrier{Ctx: cctx, Cause: func() error { return context.Cause(cctx) }, Cancel: cancel})
		return r.WithContext(admit.WithCharge(ctx, charge)), func() {
			remove()
			stop()
			cancel(nil)
			charge.Release()
		}
	}
	cctx, cancel := context.WithCancelCause(r.Context())
	remove := func() {}
	if in.calls == 1 {
		remove = c.add(callKey(r, in.rawID), cancel)
	}
	// Only the calls' contexts end with cctx: the request's own must live
	// on to carry their answers.
	ctx := admit.WithCarrier(r.Context(), admit.Carrier{Ctx: cctx, Cause: func() error { return requestEnded(cctx) }})
	return r.WithContext(admit.WithCharge(ctx, charge)), func() {
		remove()
		cancel(nil)
		charge.Release()
	}
}

// requestEnded is why the calls of ctx, a request's context or one
// derived from it, ended: its cause, ErrRequestClosed for a plain cancel
// (the client went away; a host's deadline or cause is kept).
func requestEnded(ctx context.Context) error {
	if c := context.Cause(ctx); c != context.Canceled {
		return c
	}
	return ErrRequestClosed
}

func (c *statelessCalls) add(key string, cancel context.CancelCauseFunc) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = make(map[string][]*context.CancelCauseFunc)
	}
	c.calls[key] = append(c.calls[key], &cancel)
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		list := slices.DeleteFunc(c.calls[key], func(f *context.CancelCauseFunc) bool { return f == &cancel })
		if len(list) == 0 {
			delete(c.calls, key)
		} else {
			c.calls[key] = list
		}
	}
}

func (c *statelessCalls) cancel(key string) {
	c.mu.Lock()
	list := c.calls[key]
	c.mu.Unlock()
	if len(list) == 1 {
		(*list[0])(ErrCancelledByClient)
	}
}

// sessionWork tracks, per stateful session id, the calls running and the
// POSTs carrying them, so that a DELETE can end them before the session
// closes.
type sessionWork struct {
	mu   sync.Mutex
	byID map[string]*sessionCalls
}

type sessionCalls struct {
	owner   string // the principal of its calls: the session's, as the go-sdk enforces
	posts   int
	cancels map[*context.CancelCauseFunc]struct{}
	idle    chan struct{} // closed when posts drops to zero; nil while nobody waits
}

func (w *sessionWork) get(id string) *sessionCalls {
	if w.byID == nil {
		w.byID = make(map[string]*sessionCalls)
	}
	sc := w.byID[id]
	if sc == nil {
		sc = &sessionCalls{cancels: make(map[*context.CancelCauseFunc]struct{})}
		w.byID[id] = sc
	}
	return sc
}

func (w *sessionWork) drop(id string, sc *sessionCalls) {
	if sc.posts == 0 && len(sc.cancels) == 0 {
		delete(w.byID, id)
	}
}

// post counts a POST of calls on session id until the returned func runs.
func (w *sessionWork) post(id string) func() {
	w.mu.Lock()
	w.get(id).posts++
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		sc := w.get(id)
		sc.posts--
		if sc.posts == 0 && sc.idle != nil {
			close(sc.idle)
			sc.idle = nil
		}
		w.drop(id, sc)
	}
}

// call registers the cancellation of a handler of session id, run for
// principal who, until the returned func runs.
func (w *sessionWork) call(id, who string, cancel context.CancelCauseFunc) func() {
	w.mu.Lock()
	sc := w.get(id)
	sc.owner = who
	sc.cancels[&cancel] = struct{}{}
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(sc.cancels, &cancel)
		w.drop(id, sc)
	}
}

// end cancels the calls of session id and waits, within ctx, for the
// POSTs that carry them to deliver their error results, when who is the
// session's principal: anyone else's DELETE is left for the go-sdk to
// refuse, and touches nothing.
func (w *sessionWork) end(ctx context.Context, id, who string) {
	if id == "" {
		return
	}
	w.mu.Lock()
	sc := w.byID[id]
	if sc == nil || (sc.owner != "" && sc.owner != who) {
		w.mu.Unlock()
		return
	}
	for c := range sc.cancels {
		(*c)(ErrSessionDeleted)
	}
	var idle chan struct{}
	if sc.posts > 0 {
		if sc.idle == nil {
			sc.idle = make(chan struct{})
		}
		idle = sc.idle
	}
	w.drop(id, sc)
	w.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
		}
	}
}
