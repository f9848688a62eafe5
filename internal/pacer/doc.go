// Package pacer keeps one identity's API calls under the service's sliding
// window limits (CONTRACT.md decision 5: at most 5 calls in any 60 s and
// 300 non-GET calls in any 3600 s, both configurable) while packing them as
// close to the limits as possible.
//
// Each limit is an exact sliding window: the pacer remembers the send times
// of the last N calls and lets a new one go only when the oldest of them is
// Per plus a small safety margin in the past. A token bucket would be
// simpler but lets up to 2N-1 calls into one window. Wait reserves the slot
// at the instant it returns, under one lock, so concurrent goroutines never
// overbook; a 429 from the server pauses the whole identity (Pause).
//
// One Pacer serves one identity for the whole process (Registry). Its
// history can be saved to a small JSON file in the user cache directory so
// that the next run starts where this one left off. Time comes from a Clock
// so that tests drive a FakeClock and never sleep.
package pacer
