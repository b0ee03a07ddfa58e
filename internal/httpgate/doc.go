// Package httpgate admits HTTP requests to the MCP transport. It runs on
// every request, hostile ones included, before the go-sdk reads anything,
// and refuses what it can tell is unwanted as early and as cheaply as it
// can:
//
//  1. Host and Origin (DNS rebinding, cross-origin requests), then, once
//     draining, anything but a POST.
//  2. Authentication, supplied by the caller of [New], or with none
//     configured the loopback-only default.
//  3. Content type and declared length; the body, read within a size and
//     a time limit.
//  4. The body read once (see package envelope), as the go-sdk will read
//     it: what the gate cannot read to its end is refused, never guessed
//     at, and every message counts against the batch limit. A differential
//     fuzz test holds the gate to the go-sdk's own decoding.
//  5. Scopes of the tools called, sessions, the shutdown gate and the
//     limit on calls in flight, shared between principals.
//
// Past the gate, a stateless call is cancelled when its request ends (the
// only place its answer could go), or by a notification naming it; a
// stateful session's calls are cancelled by its owner's DELETE, before the
// go-sdk closes the session, so that each answers its client.
package httpgate
