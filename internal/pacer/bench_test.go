package pacer

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkPacerThroughput measures, on the real clock, how close the pacer
// packs calls to the limit: 16 goroutines push 6 windows' worth of calls
// through a 200/200ms limit (1 s of paced calls after the first window's
// burst). achieved/limit is the calls after the first window divided by the
// calls the limit allows in the time from the first send to the last; the
// target is >= 0.97. Each iteration is one such run.
func BenchmarkPacerThroughput(b *testing.B) {
	limit := Limit{N: 200, Per: 200 * time.Millisecond}
	const workers, windows = 16, 6
	var sum float64
	for range b.N {
		p, err := New(Config{Calls: limit, Writes: Limit{N: 1 << 20, Per: time.Hour}})
		if err != nil {
			b.Fatal(err)
		}
		total := limit.N * windows
		times := make([][]time.Time, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for range total / workers {
					if err := p.Wait(context.Background(), false); err != nil {
						b.Error(err)
						return
					}
					times[w] = append(times[w], time.Now())
				}
			})
		}
		wg.Wait()
		all := slices.Concat(times...)
		slices.SortFunc(all, time.Time.Compare)
		span := all[len(all)-1].Sub(all[0])
		achieved := float64(len(all)-limit.N) / span.Seconds()
		allowed := float64(limit.N) / limit.Per.Seconds()
		sum += achieved / allowed
	}
	b.ReportMetric(sum/float64(b.N), "achieved/limit")
}
