package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/flowsync/flowsync/internal/token"
)

// TokenSource hands out bearer tokens for an OAuth2 scope. It must be safe for
// concurrent use and should cache and refresh tokens itself: the client asks
// for one before every attempt.
type TokenSource interface {
	Token(ctx context.Context, scope string) (string, error)
}

// Pacer spaces the calls of one identity. Wait blocks until a call may be
// sent (write is true for every non-GET call, which the service counts
// separately) and records it; it returns ctx's error when ctx ends first.
// Pause stops the whole identity until the given time; the client calls it on
// every 429 so that the other goroutines of the identity wait too.
// Implementations must be safe for concurrent use. A Pacer that also has
// Acquire(ctx, write) (release func(), err error), as pacer.Pacer does, is
// asked through Acquire instead of Wait, and the client releases the slot
// once the response headers arrive or the request fails (see pace).
type Pacer interface {
	Wait(ctx context.Context, write bool) error
	Pause(until time.Time)
}

// StaticToken is a TokenSource that returns the same token for every scope:
// the --auth token path and tests.
type StaticToken string

// Token returns the token, or an error when it is empty.
func (s StaticToken) Token(context.Context, string) (string, error) {
	if s == "" {
		return "", errors.New("empty static token")
	}
	return string(s), nil
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context, scope string) (string, error)

// Token calls f.
func (f TokenFunc) Token(ctx context.Context, scope string) (string, error) { return f(ctx, scope) }

var (
	_ TokenSource = StaticToken("")
	_ TokenSource = TokenFunc(nil)
)

// Config assembles a Client. Zero values get the documented defaults.
type Config struct {
	Endpoints  Endpoints
	Tokens     TokenSource
	HTTPClient *http.Client // default: a transport with a 5-minute response-header timeout
	// Pacer returns the pacer of an identity (nil: no pacing). The identity is
	// read from the token's claims (token.Claims.Identity), "unknown" when the
	// token is opaque. The client calls it once per identity and keeps the result.
	Pacer func(identity string) Pacer
	// MaxAttempts bounds the sends of one call that fail with a 5xx or a
	// connection error (default 6).
	MaxAttempts int
	// MaxThrottleWaits bounds the 429 answers one call sits out before it
	// gives up (default 20). They do not count against MaxAttempts: a 429
	// refuses the request and names when to come back.
	MaxThrottleWaits int
	// BaseDelay and MaxDelay shape the exponential backoff with jitter used
	// after 5xx and connection errors (defaults 1s and 60s).
	BaseDelay, MaxDelay time.Duration
	// Sleep waits d or until ctx ends (default: a timer honouring ctx).
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for Retry-After dates and pauses (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger // default: discard
	// UserAgent is sent with every request (default "flowsync").
	UserAgent string
}

// Client calls the Power Automate, PowerApps and BAP services. It is safe
// for concurrent use.
type Client struct {
	ep          Endpoints
	hosts       []endpointHost
	tokens      TokenSource
	http        *http.Client
	pacerFor    func(string) Pacer
	maxAttempts int
	maxThrottle int
	baseDelay   time.Duration
	maxDelay    time.Duration
	sleep       func(context.Context, time.Duration) error
	now         func() time.Time
	log         *slog.Logger
	userAgent   string

	mu     sync.Mutex
	pacers map[string]Pacer
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if err := cfg.Endpoints.Validate(); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if cfg.Tokens == nil {
		return nil, errors.New("client: no token source")
	}
	if cfg.MaxAttempts < 0 || cfg.MaxThrottleWaits < 0 || cfg.BaseDelay < 0 || cfg.MaxDelay < 0 {
		return nil, errors.New("client: negative retry setting")
	}
	c := &Client{
		ep:          cfg.Endpoints,
		tokens:      cfg.Tokens,
		pacerFor:    cfg.Pacer,
		maxAttempts: or(cfg.MaxAttempts, 6),
		maxThrottle: or(cfg.MaxThrottleWaits, 20),
		baseDelay:   or(cfg.BaseDelay, time.Second),
		maxDelay:    or(cfg.MaxDelay, time.Minute),
		sleep:       cfg.Sleep,
		now:         cfg.Now,
		log:         cfg.Logger,
		userAgent:   cfg.UserAgent,
		pacers:      map[string]Pacer{},
	}
	if c.maxDelay < c.baseDelay {
		c.maxDelay = c.baseDelay
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.userAgent == "" {
		c.userAgent = "flowsync"
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 5 * time.Minute
		hc.Transport = t
	}
	// The API does not redirect; following one could carry the token to a
	// host nobody vetted, so a 3xx is returned as an error instead.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &hc
	hosts, err := endpointHosts(c.ep)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	c.hosts = hosts
	return c, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Endpoints returns the hosts and scopes the client uses.
func (c *Client) Endpoints() Endpoints { return c.ep }

// pacer returns the identity's pacer, asking the factory once per identity.
func (c *Client) pacer(identity string) Pacer {
	if c.pacerFor == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pacers[identity]
	if !ok {
		p = c.pacerFor(identity)
		c.pacers[identity] = p
	}
	return p
}

// identityOf keys the pacer by the caller the service will count the call
// against.
func identityOf(tok string) string {
	claims, err := token.Parse(strings.TrimSpace(tok))
	if err != nil || claims.Identity() == "" {
		return "unknown"
	}
	return claims.Identity()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
