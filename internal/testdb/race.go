//go:build race

package testdb

// race is set when the tests run under the race detector, which makes
// every test several times slower on the CPU.
const race = true
