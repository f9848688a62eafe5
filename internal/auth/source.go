package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// TokenSource is what the API client needs: a bearer token for a scope such
// as "https://service.flow.microsoft.com//.default". *Source implements it.
type TokenSource interface {
	Token(ctx context.Context, scope string) (string, error)
}

var _ TokenSource = (*Source)(nil)

// refreshMargin is how long before expiry a cached token stops being handed
// out, so a request never leaves with a token that expires in flight.
const refreshMargin = 5 * time.Minute

// accessToken is a bearer token and when it expires.
type accessToken struct {
	Token     string
	ExpiresOn time.Time
}

// fetchFunc obtains a fresh token for one scope.
type fetchFunc func(ctx context.Context, scope string) (accessToken, error)

// Source hands out bearer tokens per scope. It caches each scope's token
// until refreshMargin before it expires; concurrent callers for one scope
// share a single fetch. It is safe for concurrent use.
type Source struct {
	method  Method
	fetch   fetchFunc
	now     func() time.Time
	secrets []string

	mu       sync.Mutex
	cache    map[string]accessToken
	inflight map[string]*call

	// onJoin, when set by tests, runs each time a caller starts waiting for
	// another caller's fetch.
	onJoin func(scope string)
}

// call is one fetch in progress; done closes when tok and err are set.
type call struct {
	done chan struct{}
	tok  accessToken
	err  error
}

func newSource(method Method, fetch fetchFunc, now func() time.Time, secrets []string) *Source {
	if now == nil {
		now = time.Now
	}
	return &Source{
		method:   method,
		fetch:    fetch,
		now:      now,
		secrets:  secrets,
		cache:    map[string]accessToken{},
		inflight: map[string]*call{},
	}
}

// Method reports how the source obtains tokens.
func (s *Source) Method() Method { return s.method }

// Token returns a bearer token (without the "Bearer " prefix) for scope.
func (s *Source) Token(ctx context.Context, scope string) (string, error) {
	if s.method != MethodToken && strings.TrimSpace(scope) == "" {
		return "", errors.New("get token: empty scope")
	}
	for {
		s.mu.Lock()
		if t, ok := s.cache[scope]; ok && s.now().Before(t.ExpiresOn.Add(-refreshMargin)) {
			s.mu.Unlock()
			return t.Token, nil
		}
		c, waiting := s.inflight[scope]
		if !waiting {
			c = &call{done: make(chan struct{})}
			s.inflight[scope] = c
		}
		onJoin := s.onJoin
		s.mu.Unlock()

		if !waiting {
			return s.lead(ctx, scope, c)
		}
		if onJoin != nil {
			onJoin(scope)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("get token for %s: %w", scope, ctx.Err())
		case <-c.done:
		}
		// The leader's cancellation is not ours: try again as a leader.
		if c.err != nil && isContextErr(c.err) && ctx.Err() == nil {
			continue
		}
		if c.err != nil {
			return "", c.err
		}
		return c.tok.Token, nil
	}
}

// lead fetches for every caller waiting on c.
func (s *Source) lead(ctx context.Context, scope string, c *call) (string, error) {
	tok, err := s.fetch(ctx, scope)
	if err != nil {
		err = redactErr(fmt.Errorf("get token for %s (auth %s): %w", scope, s.method, err), s.secrets)
	}
	c.tok, c.err = tok, err

	s.mu.Lock()
	if err == nil {
		s.cache[scope] = tok
	}
	delete(s.inflight, scope)
	s.mu.Unlock()
	close(c.done)

	if err != nil {
		return "", err
	}
	return tok.Token, nil
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
