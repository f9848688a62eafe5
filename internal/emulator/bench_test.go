package emulator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

// BenchmarkGetFlow: 10,000 flows loaded, parallel Get Flow requests through
// ServeHTTP with real JSON encoding, throttling off.
func BenchmarkGetFlow(b *testing.B) {
	snap := fixture()
	const n = 10000
	def := definition("Request", "Button", "shared_office365", "shared_rss")
	rf := refs("shared_office365", connO365, "shared_rss", connRSS)
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("d%07d-0000-4000-8000-000000000000", i)
		snap.Flows = append(snap.Flows, emulator.Flow{
			Environment: devEnv, Name: api.FlowName(names[i]), DisplayName: fmt.Sprintf("Bench %d", i), State: "Started",
			Creator: aliceID, CreatedTime: t0, LastModifiedTime: t0, Definition: def, ConnectionReferences: rf,
		})
	}
	// The connections the references name must exist in the dev environment.
	for _, c := range []struct{ api, name string }{{"shared_office365", connO365}, {"shared_rss", connRSS}} {
		snap.Connections = append(snap.Connections, emulator.Connection{Environment: devEnv, API: api.APIName(c.api), Name: api.ConnectionName(c.name), Status: "Connected"})
	}
	s, err := emulator.New(emulator.Options{Clock: emulator.NewManualClock(t0), Throttle: emulator.ThrottleConfig{Profile: emulator.ProfileOff}})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Load(snap); err != nil {
		b.Fatal(err)
	}
	tok, _ := s.MintToken(aliceID, flowAudience)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) % n
			req := httptest.NewRequest(http.MethodGet, flowPath(devEnv, names[i], "?"+v), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
