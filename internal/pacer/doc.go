// Package pacer keeps one identity's API calls under the service's sliding
// window limits (CONTRACT.md decision 5: at most 5 calls in any 60 s and
// 300 non-GET calls in any 3600 s, both configurable) while packing them as
// close to the limits as possible.
//
// Each limit is an exact sliding window: the pacer remembers the times of
// the last N calls and lets a new one go only when the oldest of them is Per
// plus a small safety margin in the past. A token bucket would be simpler
// but lets up to 2N-1 calls into one window. Grants happen under one lock,
// so concurrent goroutines never overbook; a 429 from the server pauses the
// whole identity (Pause).
//
// The server counts a call when it receives it, which is some time after
// the pacer let it go. Wait takes the grant as that time, so it is exact
// only while the delay between Wait returning and the request arriving
// varies by less than the margin; under load (many goroutines, the race
// detector, new connections) it can vary by far more. Acquire closes that
// gap: the call holds its slot until the caller releases it after the
// response, and its window is measured from the release, the latest moment
// the server can have received it.
//
// One Pacer serves one identity for the whole process (Registry). Its
// history can be saved to a small JSON file in the user cache directory so
// that the next run starts where this one left off; processes running at
// the same time under one identity do not see each other's calls. Time
// comes from a Clock so that tests drive a FakeClock and never sleep.
package pacer
