package pacer

import "time"

// window is one exact sliding-window limit: it keeps the times of the last
// N calls, so the next call may go once the oldest of them is more than Per
// (plus the safety margin) in the past. Unlike a token bucket this never
// lets more than N calls into any window.
//
// A call's time is the latest moment the server may have received it: the
// grant for Wait, the release for Acquire. Calls acquired and not released
// yet (inflight) have no such moment; they count as the newest calls and
// hold a slot until released.
type window struct {
	limit  Limit
	margin time.Duration
	// buf[head:] holds the last N finished calls, ascending. Dropping the
	// oldest only moves head; the buffer is compacted now and then, so
	// adding costs O(1) amortized even for N in the hundreds (ETA adds
	// thousands).
	buf      []time.Time
	head     int
	inflight int
}

func newWindow(l Limit, margin time.Duration) window {
	return window{limit: l, margin: margin}
}

// held returns the last N (or fewer) sends, ascending.
func (w *window) held() []time.Time { return w.buf[w.head:] }

// span is how long a send keeps occupying a slot.
func (w *window) span() time.Duration { return w.limit.Per + w.margin }

// next is the earliest time a new call fits (zero when a slot is free now);
// ok is false when N calls are in flight, so only a release frees a slot.
func (w *window) next() (t time.Time, ok bool) {
	need := w.limit.N - w.inflight // the need-th newest finished call decides
	if need <= 0 {
		return time.Time{}, false
	}
	ts := w.held()
	if len(ts) < need {
		return time.Time{}, true
	}
	return ts[len(ts)-need].Add(w.span()), true
}

// add records a send, keeping only the last N. Sends normally arrive in time
// order; an out-of-order one (wall clock stepped back) is inserted in place.
func (w *window) add(t time.Time) {
	i := len(w.buf)
	for i > w.head && w.buf[i-1].After(t) {
		i--
	}
	w.buf = append(w.buf, time.Time{})
	copy(w.buf[i+1:], w.buf[i:])
	w.buf[i] = t
	if extra := len(w.buf) - w.head - w.limit.N; extra > 0 {
		// Sends pushed out here are older than the span before the send that
		// replaced them, so forgetting them never loosens the limit.
		w.head += extra
	}
	if w.head >= w.limit.N {
		n := copy(w.buf, w.buf[w.head:])
		clear(w.buf[n:])
		w.buf, w.head = w.buf[:n], 0
	}
}

// remove forgets one send at t (the newest such), reporting whether it was
// still held.
func (w *window) remove(t time.Time) bool {
	for i := len(w.buf) - 1; i >= w.head; i-- {
		if w.buf[i].Equal(t) {
			w.buf = append(w.buf[:i], w.buf[i+1:]...)
			return true
		}
	}
	return false
}

// live returns the finished calls that still occupy a slot at now, and
// the calls in flight as finishing at now.
func (w *window) live(now time.Time) []time.Time {
	var out []time.Time
	for _, t := range w.held() {
		if t.Add(w.span()).After(now) {
			out = append(out, t)
		}
	}
	for range w.inflight {
		out = append(out, now)
	}
	return out
}

// clone copies the window, counting the calls in flight as finishing at
// now: the best guess of when they will.
func (w *window) clone(now time.Time) window {
	c := *w
	c.buf = append(make([]time.Time, 0, 2*w.limit.N+1), w.held()...)
	c.head, c.inflight = 0, 0
	for range w.inflight {
		c.add(now)
	}
	return c
}
