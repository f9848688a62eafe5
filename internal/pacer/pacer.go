package pacer

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The defaults are the connector's published limits (CONTRACT.md decision
// 5), written as ParseLimit reads them so a CLI can use them as flag defaults.
const (
	// DefaultCalls limits all calls of one identity.
	DefaultCalls = "5/60s"
	// DefaultWrites limits non-GET calls of one identity.
	DefaultWrites = "300/3600s"
)

// Config configures a Pacer. The zero value of every field selects its default.
type Config struct {
	// Calls limits all calls; default DefaultCalls (5/60s).
	Calls Limit
	// Writes limits non-GET calls; default DefaultWrites (300/3600s).
	Writes Limit
	// Margin is added to each window's length, so a call may go only once
	// the call N places before it is Per+Margin in the past. With Wait it
	// must absorb the delay between Wait returning and the server stamping
	// the request (what matters is how much later the older call arrived
	// than the newer one); with Acquire it only covers the window's edge and
	// clock drift. Zero selects DefaultMargin(Per) for each window; negative
	// is an error.
	Margin time.Duration
	// Clock defaults to RealClock.
	Clock Clock
	// HistoryFile, when set, is loaded by New and written by Save so that a
	// new process knows the calls a previous one made inside the windows.
	HistoryFile string
	// Identity is the principal the limits apply to; it is written into the
	// history file and must match when the file is loaded.
	Identity string
}

// DefaultMargin is 1% of per, at least 2ms and at most 1s: 10ms for a 1s
// window (the achieved rate stays at 99% of the limit), 600ms for 60s, 1s
// for an hour. The floor covers loopback scheduling jitter when windows are
// tiny; the cap keeps long windows from wasting capacity.
//
// Uncertain: the service does not document whether a call exactly Per after
// an earlier one counts in the same window, nor how far its clock stamps lag
// the client; the margin makes both questions moot for jitter below it.
func DefaultMargin(per time.Duration) time.Duration {
	return min(max(per/100, 2*time.Millisecond), time.Second)
}

// withDefaults fills zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Calls == (Limit{}) {
		c.Calls = mustParseLimit(DefaultCalls)
	}
	if c.Writes == (Limit{}) {
		c.Writes = mustParseLimit(DefaultWrites)
	}
	if !c.Calls.valid() {
		return c, fmt.Errorf("pacer calls limit %s: want N >= 1 and a positive duration", c.Calls)
	}
	if !c.Writes.valid() {
		return c, fmt.Errorf("pacer writes limit %s: want N >= 1 and a positive duration", c.Writes)
	}
	if c.Margin < 0 {
		return c, fmt.Errorf("pacer margin %s: must not be negative", c.Margin)
	}
	if c.Clock == nil {
		c.Clock = RealClock{}
	}
	return c, nil
}

// Pacer keeps one identity's calls under both sliding windows. It is safe
// for concurrent use; all goroutines of a process that act as one identity
// must share one Pacer (see Registry).
type Pacer struct {
	cfg   Config
	clock Clock

	mu          sync.Mutex
	calls       window
	writes      window
	pausedUntil time.Time
	queue       []*waiter // FIFO; none of them may go at the current time

	timer     Timer // wakes the queue at timerAt; nil when none is needed
	timerAt   time.Time
	timerStop chan struct{}

	changed chan struct{} // closed on the next state change; nil if nobody asked

	made, madeWrites, throttled int64
}

type waiter struct {
	write    bool
	hold     bool          // Acquire: the call stays in flight until released
	ready    chan struct{} // closed when granted
	granted  bool
	released bool
	at       time.Time // grant time
}

// Stats is a snapshot of a Pacer for progress displays.
type Stats struct {
	Calls, Writes int64     // calls granted so far, and how many were non-GET
	Waiting       int       // goroutines blocked in Wait or Acquire now
	InFlight      int       // calls acquired and not released yet
	Throttled     int64     // Pause calls (429 responses)
	PausedUntil   time.Time // zero if never paused
}

// New returns a Pacer; when cfg.HistoryFile is set it loads the history a
// previous run saved (a missing file is an empty history).
func New(cfg Config) (*Pacer, error) {
	p, err := newPacer(cfg)
	if err != nil {
		return nil, err
	}
	if err := p.load(); err != nil {
		return nil, err
	}
	return p, nil
}

func newPacer(cfg Config) (*Pacer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	margin := func(l Limit) time.Duration {
		if cfg.Margin > 0 {
			return cfg.Margin
		}
		return DefaultMargin(l.Per)
	}
	return &Pacer{
		cfg:    cfg,
		clock:  cfg.Clock,
		calls:  newWindow(cfg.Calls, margin(cfg.Calls)),
		writes: newWindow(cfg.Writes, margin(cfg.Writes)),
	}, nil
}

// Wait blocks until a call (a non-GET one if write) may be sent under both
// windows and any pause, and records the send at that instant, so concurrent
// callers never overbook. Waiters are served first come, first served,
// except that a read may pass a write held back by the writes window only.
// If ctx ends first Wait returns ctx.Err() and leaves no reservation.
//
// Wait counts the call as received by the server at the instant Wait
// returns; the margin must cover how much later one call may reach the
// server than another. Acquire does not depend on that.
func (p *Pacer) Wait(ctx context.Context, write bool) error {
	_, err := p.wait(ctx, write, false)
	return err
}

// Acquire is Wait for callers that can say when the call ended: the call
// holds its slot from the grant until release is called (after the response
// headers arrived or the request failed), and its window is measured from
// the release. The server received the call somewhere in between, so no
// delay in sending can overbook the server's windows; the price is one
// response time per window. release may be called more than once; only the
// first counts. If ctx ends first Acquire returns ctx.Err(), a nil release
// and no reservation.
func (p *Pacer) Acquire(ctx context.Context, write bool) (release func(), err error) {
	w, err := p.wait(ctx, write, true)
	if err != nil {
		return nil, err
	}
	return func() { p.release(w) }, nil
}

func (p *Pacer) wait(ctx context.Context, write, hold bool) (*waiter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := &waiter{write: write, hold: hold, ready: make(chan struct{})}
	p.mu.Lock()
	p.queue = append(p.queue, w)
	p.dispatch()
	p.notify()
	p.mu.Unlock()

	select {
	case <-w.ready:
	case <-ctx.Done():
	}
	if ctx.Err() == nil {
		return w, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.granted {
		p.unrecord(w)
	} else {
		p.dequeue(w)
	}
	p.dispatch()
	p.notify()
	return nil, ctx.Err()
}

func (p *Pacer) release(w *waiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.released {
		return
	}
	w.released = true
	now := p.clock.Now()
	p.calls.inflight--
	p.calls.add(now)
	if w.write {
		p.writes.inflight--
		p.writes.add(now)
	}
	p.dispatch()
	p.notify()
}

// Pause holds every call of the identity until until (or a later pause
// already in force); the client calls it on a 429 with the Retry-After time.
func (p *Pacer) Pause(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttled++
	if until.After(p.pausedUntil) {
		p.pausedUntil = until
	}
	p.dispatch()
	p.notify()
}

// Stats returns a snapshot of the counters.
func (p *Pacer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		Calls:       p.made,
		Writes:      p.madeWrites,
		Waiting:     len(p.queue),
		InFlight:    p.calls.inflight,
		Throttled:   p.throttled,
		PausedUntil: p.pausedUntil,
	}
}

// Changed returns a channel that is closed at the next change of the pacer's
// state: a waiter queued, granted or cancelled, a release, a pause, a timer
// fired.
// Progress displays and tests that drive a FakeClock select on it instead
// of polling.
func (p *Pacer) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.changed
}

// ETA returns when the last of calls more calls, writes of them non-GET,
// would go if they were all queued now, writes ahead of reads: the time the
// pacer itself achieves when the work keeps it saturated, given the sends
// recorded so far and any pause; calls in flight are taken to finish now.
// Goroutines already blocked in Wait are not counted; include them in calls
// if they are part of the work.
//
// With only one kind of call this is the earliest possible finish. With a
// mix it can be later than a clairvoyant schedule, which would sometimes
// hold a slot free for a write that becomes due soon instead of giving it
// to a read; the pacer serves whoever may go now and does not know the
// future, so ETA predicts what will happen rather than that bound.
func (p *Pacer) ETA(calls, writes int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	if calls <= 0 {
		return now
	}
	writes = min(max(writes, 0), calls)
	reads := calls - writes
	cw, ww := p.calls.clone(now), p.writes.clone(now)
	start := later(now, p.pausedUntil)
	var last time.Time
	for reads+writes > 0 {
		cn, _ := cw.next() // nothing is in flight in a clone
		slot := later(start, cn)
		if writes > 0 {
			// As in dispatch: a write held only by the writes window lets
			// a read take the slot.
			wn, _ := ww.next()
			if ws := later(slot, wn); reads == 0 || !ws.After(slot) {
				cw.add(ws)
				ww.add(ws)
				writes--
				last = ws
				continue
			}
		}
		cw.add(slot)
		reads--
		last = slot
	}
	return last
}

// earliest is when a call of the given kind may go, ignoring the queue;
// ok is false while it waits for a call in flight to be released.
func (p *Pacer) earliest(write bool) (t time.Time, ok bool) {
	t, ok = p.calls.next()
	t = later(t, p.pausedUntil)
	if write && ok {
		var wt time.Time
		wt, ok = p.writes.next()
		t = later(t, wt)
	}
	return t, ok
}

// dispatch grants, in queue order, every waiter that may go now, then arms
// the timer for the next waiter that will be able to (a waiter held by calls
// in flight is woken by their release instead). Called with p.mu held after
// every state change.
func (p *Pacer) dispatch() {
	now := p.clock.Now()
	var wake time.Time
	readBlocked, writeBlocked := false, false
	var granted []*waiter
	kept := p.queue[:0]
	for _, w := range p.queue {
		// Reads and writes share the pause and the calls window, so a
		// blocked read blocks everything behind it and a blocked write
		// blocks the writes behind it; only reads may pass a write.
		if readBlocked || (w.write && writeBlocked) {
			kept = append(kept, w)
			continue
		}
		e, ok := p.earliest(w.write)
		if !ok || e.After(now) {
			if w.write {
				writeBlocked = true
			} else {
				readBlocked = true
			}
			if ok && (wake.IsZero() || e.Before(wake)) {
				wake = e
			}
			kept = append(kept, w)
			continue
		}
		p.grant(w, now)
		granted = append(granted, w)
	}
	clear(p.queue[len(kept):])
	p.queue = kept
	if wake.IsZero() {
		p.disarm()
	} else {
		p.arm(wake, now)
	}
	// Wake the granted only now, so that whoever sees a grant also sees the
	// timer for the next one.
	for _, w := range granted {
		close(w.ready)
	}
}

func (p *Pacer) grant(w *waiter, now time.Time) {
	w.granted, w.at = true, now
	p.made++
	if w.write {
		p.madeWrites++
	}
	if w.hold {
		p.calls.inflight++
		if w.write {
			p.writes.inflight++
		}
		return
	}
	p.record(now, w.write)
}

func (p *Pacer) record(t time.Time, write bool) {
	p.calls.add(t)
	if write {
		p.writes.add(t)
	}
}

// unrecord takes back the grant of a waiter whose context ended before
// Wait or Acquire returned: nothing was sent.
func (p *Pacer) unrecord(w *waiter) {
	p.made--
	if w.write {
		p.madeWrites--
	}
	if w.hold {
		p.calls.inflight--
		if w.write {
			p.writes.inflight--
		}
		return
	}
	p.calls.remove(w.at)
	if w.write {
		p.writes.remove(w.at)
	}
}

func (p *Pacer) dequeue(w *waiter) {
	for i, q := range p.queue {
		if q == w {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			return
		}
	}
}

// arm makes sure one timer will run dispatch at at. The goroutine that waits
// for it lives only while a waiter is queued.
func (p *Pacer) arm(at, now time.Time) {
	if p.timer != nil && p.timerAt.Equal(at) {
		return
	}
	p.disarm()
	t := p.clock.NewTimer(at.Sub(now))
	stop := make(chan struct{})
	p.timer, p.timerAt, p.timerStop = t, at, stop
	go func() {
		select {
		case <-t.C():
		case <-stop:
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.timerStop != stop {
			return // re-armed meanwhile
		}
		p.timer, p.timerStop = nil, nil
		p.dispatch()
		p.notify()
	}()
}

func (p *Pacer) disarm() {
	if p.timer == nil {
		return
	}
	p.timer.Stop()
	close(p.timerStop)
	p.timer, p.timerStop = nil, nil
}

func (p *Pacer) notify() {
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
