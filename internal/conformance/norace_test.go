//go:build !race

package conformance

// raceEnabled reports a -race build, whose detector slows every request
// enough to change timings measured against wall-clock limits.
const raceEnabled = false
