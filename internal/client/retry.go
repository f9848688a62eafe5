package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/flowsync/flowsync/internal/api"
)

// ErrAmbiguousWrite reports that a non-idempotent write (Create Flow,
// Resubmit) failed after the request may have reached the server: it may have
// been applied. The client never re-sends such a write; the caller must look
// at the live state (a created flow by its display name) before trying again.
var ErrAmbiguousWrite = errors.New("the write may have been applied")

// safety says what re-sending a request could do to the server's state.
type safety int

const (
	// read requests (GET) change nothing.
	read safety = iota
	// idempotent writes leave the same state however often they are applied:
	// PUT and PATCH carry the whole new state; DELETE of a deleted flow is a
	// 204; start, stop and restore set a state; modifyPermissions puts and
	// deletes grants by principal; cancel ends a run once; listCallbackUrl
	// only reads.
	idempotent
	// unsafe writes are applied again by every copy: POST .../flows creates
	// another flow, resubmit starts another run.
	unsafe
)

// verdict is what to do after a failed attempt.
type verdict int

const (
	giveUp         verdict = iota // return the error
	retryBackoff                  // send again after exponential backoff
	retryThrottled                // send again after Retry-After, pausing the identity
	ambiguous                     // stop: the write may have been applied
)

// outcome is one attempt's result as shouldRetry sees it.
type outcome struct {
	ok     bool
	status int
	apiErr *api.APIError // a non-2xx answer
	err    error         // no usable answer: connection error, short body, undecodable 2xx body
	// sent is true once any byte of the request may have left the process;
	// before that (dial, DNS, TLS handshake) nothing can have been applied.
	sent bool
	// permanent marks errors that another attempt cannot fix (certificates).
	permanent bool
}

func (o outcome) cause() error {
	if o.apiErr != nil {
		return o.apiErr
	}
	return o.err
}

// shouldRetry is the one place that classifies a failed attempt:
//
//   - 429: always retried, for every request, even Create Flow: the request
//     was refused, not applied. The wait is Retry-After however long (or the
//     body's "Try again in N seconds", else backoff) and the identity's pacer
//     is paused so that its other calls wait too.
//   - 5xx: retried with backoff for reads and idempotent writes; for an
//     unsafe write the server may have applied it before failing, so it is
//     ambiguous and not re-sent.
//   - connection errors (reset, EOF, timeouts not caused by ctx), truncated
//     bodies and undecodable 2xx bodies: retried like 5xx when a byte may
//     have been sent; before any byte was written they are retried for every
//     request. Certificate errors are never retried.
//   - everything else (400, 401, 403, 404, 409, 3xx…): returned at once;
//     another attempt would get the same answer.
//
// Context cancellation is handled before this is consulted: it ends the call.
func shouldRetry(s safety, o outcome) verdict {
	if o.apiErr != nil {
		switch {
		case o.apiErr.Status == http.StatusTooManyRequests:
			return retryThrottled
		case o.apiErr.Status >= 500 && s == unsafe:
			return ambiguous
		case o.apiErr.Status >= 500:
			return retryBackoff
		}
		return giveUp
	}
	switch {
	case o.permanent:
		return giveUp
	case !o.sent:
		return retryBackoff
	case s == unsafe:
		return ambiguous
	}
	return retryBackoff
}

// TokenInvalidator is an optional TokenSource method: forget a token the
// service refused (as expired), so that the next Token call for scope
// fetches a new one instead of handing back a cached copy. Sources that
// cache by expiry time alone (azidentity does) refresh by themselves once
// the token is really past its time; this covers a service whose clock is
// ahead of ours.
type TokenInvalidator interface {
	InvalidateToken(scope, token string)
}

// errNoFreshToken: after a refusal the token source handed back the same
// token (a static --auth token, or a cache that still trusts it).
var errNoFreshToken = errors.New("the token source gave the same token again: get a new one (a static token cannot be refreshed)")

// tokenRefused reports a 401 that a fresh token may cure: the token has
// expired (ExpiredAuthenticationToken, the Power Automate services) or is
// invalid (InvalidAuthenticationToken, Graph's code for expired tokens too).
// Other 401s (no token, wrong tenant, wrong audience: AuthenticationFailed,
// InvalidAuthenticationTokenAudience) would fail again with any token from
// the same source.
func tokenRefused(e *api.APIError) bool {
	return e != nil && e.Status == http.StatusUnauthorized &&
		(e.Code == api.CodeExpiredAuthenticationToken || e.Code == api.CodeInvalidAuthenticationToken)
}

// freshToken makes sure the next attempt sends a token other than refused:
// it asks the source to forget refused when it can, then asks for a token
// and checks it differs. Tokens are compared, never logged or wrapped.
func (c *Client) freshToken(ctx context.Context, scope, refused string) error {
	if inv, ok := c.tokens.(TokenInvalidator); ok {
		inv.InvalidateToken(scope, refused)
	}
	tok, err := c.tokens.Token(ctx, scope)
	if err != nil {
		return fmt.Errorf("getting a fresh one failed: %w", err)
	}
	if tok == refused {
		return errNoFreshToken
	}
	return nil
}

// isPermanentTransportError spots failures that no retry can fix.
func isPermanentTransportError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verification)
}

// backoff is the wait before the n-th retry (n from 1): BaseDelay doubled
// each time up to MaxDelay, half of it fixed and half random ("equal
// jitter"), so that clients failing together do not retry together.
func (c *Client) backoff(n int) time.Duration {
	d := c.baseDelay
	for i := 1; i < n && d < c.maxDelay; i++ {
		d *= 2
	}
	d = min(d, c.maxDelay)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d-d/2+1)
}
