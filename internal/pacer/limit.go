package pacer

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit is "at most N calls in any window of length Per".
type Limit struct {
	N   int
	Per time.Duration
}

// ParseLimit reads a limit written as N/DURATION, where DURATION is a Go
// duration: "5/60s", "300/3600s", "50/1s", "100/1m".
func ParseLimit(s string) (Limit, error) {
	bad := fmt.Errorf("invalid limit %q: want N/DURATION such as 5/60s", s)
	ns, ds, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Limit{}, bad
	}
	n, err := strconv.Atoi(strings.TrimSpace(ns))
	if err != nil || n < 1 {
		return Limit{}, bad
	}
	d, err := time.ParseDuration(strings.TrimSpace(ds))
	if err != nil || d <= 0 {
		return Limit{}, bad
	}
	return Limit{N: n, Per: d}, nil
}

// String writes the limit so that ParseLimit reads it back; whole seconds
// are written as seconds ("5/60s") because that is how limits are published.
func (l Limit) String() string {
	if l.Per > 0 && l.Per%time.Second == 0 {
		return fmt.Sprintf("%d/%ds", l.N, l.Per/time.Second)
	}
	return fmt.Sprintf("%d/%s", l.N, l.Per)
}

func mustParseLimit(s string) Limit {
	l, err := ParseLimit(s)
	if err != nil {
		panic(err) // only called with the constants above
	}
	return l
}

func (l Limit) valid() bool { return l.N >= 1 && l.Per > 0 }
