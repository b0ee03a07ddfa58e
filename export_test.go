package doris

// BareServerForBench is the bare go-sdk server of the benchmarks, for the
// external test package's BenchmarkFromOutside.
var BareServerForBench = bareServer
