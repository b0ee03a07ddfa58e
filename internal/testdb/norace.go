//go:build !race

package testdb

const race = false
