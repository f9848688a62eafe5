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

// TokenInvalidator is the optional method the API client calls when the
// service refuses a token as expired or invalid (internal/client defines the
// same interface where it uses it). *Source implements it.
type TokenInvalidator interface {
	InvalidateToken(scope, token string)
}

var _ TokenInvalidator = (*Source)(nil)

// ErrNotRefreshable is matched (errors.Is) by Token's error when the service
// refused a token and the method has no other one to give: a static
// FLOWSYNC_TOKEN, or a credential (Azure CLI) that hands back the refused
// token from its own cache.
var ErrNotRefreshable = errors.New("token cannot be refreshed")

// refreshMargin is how long before expiry a cached token stops being handed
// out, so a request never leaves with a token that expires in flight.
const refreshMargin = 5 * time.Minute

// accessToken is a bearer token and when it expires.
type accessToken struct {
	Token     string
	ExpiresOn time.Time
}

// fetchFunc obtains a token for one scope. With fresh set, the service has
// refused the last token for scope: the credential must not answer from its
// own cache (azidentity keeps one too) but ask Entra for a new token.
type fetchFunc func(ctx context.Context, scope string, fresh bool) (accessToken, error)

// Source hands out bearer tokens per scope. It caches each scope's token
// until refreshMargin before it expires; concurrent callers for one scope
// share a single fetch. A token the service refused (InvalidateToken) is
// dropped and never handed out again. It is safe for concurrent use.
type Source struct {
	method  Method
	fetch   fetchFunc
	now     func() time.Time
	secrets []string
	// stale explains, for scope, why the method cannot replace a refused
	// token and what the user should do; nil means a generic explanation.
	stale func(scope string) string

	mu       sync.Mutex
	cache    map[string]accessToken
	inflight map[string]*call
	// refused holds, per scope, the last token the service refused, until a
	// different one has been fetched.
	refused map[string]string

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
		refused:  map[string]string{},
	}
}

// InvalidateToken forgets token for scope because the service refused it
// (expired by the service's clock, or revoked), so that the next Token call
// fetches a new one, bypassing the credential's own cache too. A cached
// token other than token (another caller already refreshed) is kept.
func (s *Source) InvalidateToken(scope, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.cache[scope]; ok && t.Token != token {
		return
	}
	delete(s.cache, scope)
	s.refused[scope] = token
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
	tok, err := s.fetchUnrefused(ctx, scope)
	if err != nil {
		err = redactErr(fmt.Errorf("get token for %s (auth %s): %w", scope, s.method, err), s.secrets)
	}
	c.tok, c.err = tok, err

	s.mu.Lock()
	if err == nil {
		s.cache[scope] = tok
		delete(s.refused, scope)
	}
	delete(s.inflight, scope)
	s.mu.Unlock()
	close(c.done)

	if err != nil {
		return "", err
	}
	return tok.Token, nil
}

// fetchUnrefused fetches a token for scope that is not the one the service
// last refused: a fresh fetch when a refusal is known, and again fresh when
// a refusal arrived while an ordinary fetch was under way and that fetch
// brought back the refused token from the credential's cache.
func (s *Source) fetchUnrefused(ctx context.Context, scope string) (accessToken, error) {
	s.mu.Lock()
	refused := s.refused[scope]
	s.mu.Unlock()
	tok, err := s.fetch(ctx, scope, refused != "")
	if err != nil || refused != "" {
		return tok, s.checkRefused(scope, tok, err, refused)
	}
	s.mu.Lock()
	refused = s.refused[scope]
	s.mu.Unlock()
	if refused == "" || tok.Token != refused {
		return tok, nil
	}
	tok, err = s.fetch(ctx, scope, true)
	return tok, s.checkRefused(scope, tok, err, refused)
}

// checkRefused turns a fresh fetch that brought back the refused token into
// an ErrNotRefreshable error. Tokens are compared, never printed.
func (s *Source) checkRefused(scope string, tok accessToken, err error, refused string) error {
	if err != nil || refused == "" || tok.Token != refused {
		return err
	}
	why := "the credential handed back the same token: check this machine's clock and sign in again"
	if s.stale != nil {
		why = s.stale(scope)
	}
	return fmt.Errorf("the service refused the token: %w: %s", ErrNotRefreshable, why)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
