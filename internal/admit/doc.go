// Package admit decides what work a Server takes on and what it may hold:
// the gate that admits work until shutdown and counts it until it is done,
// a weighted semaphore shared fairly between principals (for calls in
// flight and connections), and the memory budget that results are charged
// to as they are read.
//
// # Fairness
//
// A [Share] is a semaphore whose holders are named: the principal a call
// runs for. Two rules keep one principal from shutting the others out.
// First, a principal may hold at most all but a reserve (an eighth of the
// size, at least one unit), so a newcomer finds room at once however much
// one principal asks for; the anonymous principal "", which only exists
// when nobody is authenticated, may take everything. Second, when units
// are released and several principals wait, the one holding least is served
// first: a greedy principal gets more only when nobody holding less waits.
//
// # Memory
//
// A result costs memory while its rows are read and encoded and until its
// response has been delivered. A [Charge] takes room from the [Budget] in
// chunks as the result grows, never by its worst case up front; a result
// that finds no room after a short wait ends early and says so, instead of
// the call being refused before it starts.
package admit
