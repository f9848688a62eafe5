package pacer

import (
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func TestFakeClock(t *testing.T) {
	c := NewFakeClock(t0)
	a := c.NewTimer(2 * time.Second)
	b := c.NewTimer(time.Second)
	stopped := c.NewTimer(time.Second)
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer = false")
	}
	if stopped.Stop() {
		t.Fatal("second Stop = true")
	}
	if next, ok := c.NextDeadline(); !ok || !next.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextDeadline = %v, %v; want %v", next, ok, t0.Add(time.Second))
	}
	c.Advance(500 * time.Millisecond)
	select {
	case <-b.C():
		t.Fatal("timer fired early")
	default:
	}
	if at, ok := c.AdvanceToNext(); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("AdvanceToNext = %v, %v", at, ok)
	}
	if got := <-b.C(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("b fired with %v", got)
	}
	if c.Timers() != 1 {
		t.Errorf("Timers = %d, want 1", c.Timers())
	}
	c.AdvanceTo(t0) // never backwards
	if !c.Now().Equal(t0.Add(time.Second)) {
		t.Errorf("Now = %v after AdvanceTo the past", c.Now())
	}
	c.Advance(time.Hour)
	<-a.C()
	select {
	case <-stopped.C():
		t.Error("stopped timer fired")
	default:
	}
	if _, ok := c.AdvanceToNext(); ok {
		t.Error("AdvanceToNext with no timers = true")
	}
	now := c.NewTimer(0)
	if got := <-now.C(); !got.Equal(c.Now()) {
		t.Errorf("zero timer fired with %v", got)
	}
}
