package admit

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// The JSON-RPC errors of work refused at admission, over every transport.
var (
	ShuttingDown = &jsonrpc.Error{Code: -32000, Message: "server is shutting down; retry on another replica"}
	Busy         = &jsonrpc.Error{Code: -32000, Message: "server busy: too many calls in flight; retry shortly"}
)

// A Carrier is what brings calls to a session: the HTTP request of a
// stateless call, the ServeTransport of a stream. When Ctx ends, its calls
// can no longer be answered and are cancelled with Cause's error.
type Carrier struct {
	Ctx   context.Context
	Cause func() error
	// Cancel, when set, cancels Ctx, and the calls' contexts descend from
	// Ctx: they need nothing of their own to end with it.
	Cancel context.CancelCauseFunc
}

// carrierKey is the context key of a Carrier. The go-sdk passes the values
// of the context a session was connected with on to its handlers'
// contexts, though not that context's cancellation.
type carrierKey struct{}

// WithCarrier gives the calls of ctx the carrier c.
func WithCarrier(ctx context.Context, c Carrier) context.Context {
	return context.WithValue(ctx, carrierKey{}, c)
}

// CarrierFrom returns the carrier of the calls of ctx.
func CarrierFrom(ctx context.Context) (Carrier, bool) {
	c, ok := ctx.Value(carrierKey{}).(Carrier)
	return c, ok
}

type chargeKey struct{}

// WithCharge gives the calls of ctx the budget account c.
func WithCharge(ctx context.Context, c *Charge) context.Context {
	return context.WithValue(ctx, chargeKey{}, c)
}

// ChargeFrom returns the budget account of the calls of ctx, or nil.
func ChargeFrom(ctx context.Context) *Charge {
	c, _ := ctx.Value(chargeKey{}).(*Charge)
	return c
}
