package pacer

import "time"

// window is one exact sliding-window limit: it keeps the send times of the
// last N calls, so the next call may go once the oldest of them is more than
// Per (plus the safety margin) in the past. Unlike a token bucket this never
// lets more than N calls into any window.
type window struct {
	limit  Limit
	margin time.Duration
	ts     []time.Time // ascending, at most limit.N
}

func newWindow(l Limit, margin time.Duration) window {
	return window{limit: l, margin: margin, ts: make([]time.Time, 0, l.N)}
}

// span is how long a send keeps occupying a slot.
func (w *window) span() time.Duration { return w.limit.Per + w.margin }

// next is the earliest time a new call fits; zero when a slot is free now.
func (w *window) next() time.Time {
	if len(w.ts) < w.limit.N {
		return time.Time{}
	}
	return w.ts[len(w.ts)-w.limit.N].Add(w.span())
}

// add records a send, keeping only the last N. Sends normally arrive in time
// order; an out-of-order one (wall clock stepped back) is inserted in place.
func (w *window) add(t time.Time) {
	i := len(w.ts)
	for i > 0 && w.ts[i-1].After(t) {
		i--
	}
	w.ts = append(w.ts, time.Time{})
	copy(w.ts[i+1:], w.ts[i:])
	w.ts[i] = t
	if extra := len(w.ts) - w.limit.N; extra > 0 {
		// Sends pushed out here are older than the span before the send that
		// replaced them, so forgetting them never loosens the limit.
		w.ts = append(w.ts[:0], w.ts[extra:]...)
	}
}

// remove forgets one send at t (the newest such), reporting whether it was
// still held.
func (w *window) remove(t time.Time) bool {
	for i := len(w.ts) - 1; i >= 0; i-- {
		if w.ts[i].Equal(t) {
			w.ts = append(w.ts[:i], w.ts[i+1:]...)
			return true
		}
	}
	return false
}

// live returns the held sends that still occupy a slot at now.
func (w *window) live(now time.Time) []time.Time {
	var out []time.Time
	for _, t := range w.ts {
		if t.Add(w.span()).After(now) {
			out = append(out, t)
		}
	}
	return out
}

func (w *window) clone() window {
	c := *w
	c.ts = append(make([]time.Time, 0, w.limit.N+1), w.ts...)
	return c
}
