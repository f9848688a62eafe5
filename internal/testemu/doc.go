// Package testemu starts the emulator for tests: one way to do it, with
// options, instead of a copy per package.
//
// Start runs an embedded emulator on loopback for the life of a test and
// closes it (and the idle connections of its HTTP client) when the test
// ends. By default it serves the demo tenant with throttling off and a
// manual clock at the demo's "now", so tests decide when time passes; API
// clients made with Client sign in as any principal of the tenant and never
// wait real time between retries. Control, SetFaults and Stats reach the
// emulator's control endpoints over the same loopback connection.
package testemu
