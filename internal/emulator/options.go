package emulator

import (
	"fmt"
	"log/slog"
	"time"
)

// Options configure a Server. The zero value is usable: wall clock, the
// connector throttling profile, no faults, pages of 50, no state file.
type Options struct {
	// Clock drives every time the emulator reads; nil means the wall clock.
	Clock Clock
	// TokenClock is what access tokens' exp and nbf are checked against (with
	// TokenSkew) and what MintToken stamps them with; nil means the wall
	// clock. It is not Clock: tokens minted by other tools carry real times,
	// which a simulated clock moved days ahead would refuse.
	TokenClock Clock
	// Throttle configures the per-identity rate limits (CONTRACT decision 5).
	Throttle ThrottleConfig
	// Faults are injected into API answers (never into control paths).
	Faults FaultConfig
	// PageSize is the default page length of paged lists (50).
	PageSize int
	// MaxPageSize is the largest $top accepted (250).
	MaxPageSize int
	// StateFile, when set, is loaded by New if it exists and rewritten
	// (atomically) after every successful mutation.
	StateFile string
	// MaxSeedBytes bounds the snapshot body of POST /_emulator/seed; a
	// larger one is refused with 413 (default 256 MiB).
	MaxSeedBytes int64
	// Seeds resolves POST /_emulator/seed?name=… to a snapshot.
	Seeds func(name string) (*Snapshot, error)
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
}

// Throttling profiles: what a refused call looks like.
const (
	// ProfileConnector answers like the connector gateway:
	// {"statusCode":429,"message":"Rate limit is exceeded. Try again in N seconds."}.
	ProfileConnector = "connector"
	// ProfileService answers like the service: 429 TooManyConcurrentRequests.
	ProfileService = "service"
	// ProfileOff disables throttling (calls are still counted in stats).
	ProfileOff = "off"
)

// ThrottleConfig limits calls per identity in two sliding windows: all calls
// (Calls per Per) and non-GET calls (Writes per WritesPer). Zero numbers take
// the connector's published limits, 5 per 60 s and 300 per 3600 s.
type ThrottleConfig struct {
	Profile   string
	Calls     int
	Per       time.Duration
	Writes    int
	WritesPer time.Duration
}

func (c ThrottleConfig) withDefaults() (ThrottleConfig, error) {
	if c.Profile == "" {
		c.Profile = ProfileConnector
	}
	switch c.Profile {
	case ProfileConnector, ProfileService, ProfileOff:
	default:
		return c, fmt.Errorf("throttle profile %q: want %q, %q or %q", c.Profile, ProfileConnector, ProfileService, ProfileOff)
	}
	if c.Calls < 0 || c.Writes < 0 || c.Per < 0 || c.WritesPer < 0 {
		return c, fmt.Errorf("throttle limits must not be negative")
	}
	if c.Calls == 0 {
		c.Calls = 5
	}
	if c.Per == 0 {
		c.Per = 60 * time.Second
	}
	if c.Writes == 0 {
		c.Writes = 300
	}
	if c.WritesPer == 0 {
		c.WritesPer = time.Hour
	}
	return c, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Clock == nil {
		o.Clock = wallClock{}
	}
	if o.TokenClock == nil {
		o.TokenClock = wallClock{}
	}
	if o.PageSize == 0 {
		o.PageSize = 50
	}
	if o.MaxSeedBytes == 0 {
		o.MaxSeedBytes = 256 << 20
	}
	if o.MaxSeedBytes < 0 {
		return o, fmt.Errorf("max seed bytes %d: want a positive size", o.MaxSeedBytes)
	}
	if o.MaxPageSize == 0 {
		o.MaxPageSize = 250
	}
	if o.PageSize < 1 || o.MaxPageSize < o.PageSize {
		return o, fmt.Errorf("page size %d / max %d: want 1 <= size <= max", o.PageSize, o.MaxPageSize)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	t, err := o.Throttle.withDefaults()
	if err != nil {
		return o, err
	}
	o.Throttle = t
	if err := o.Faults.validate(); err != nil {
		return o, err
	}
	return o, nil
}
