package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/redact"
)

// maxBody bounds a response body held in memory. A flow with its expanded
// connector definitions is a few megabytes; a page of a list far less.
const maxBody = 256 << 20

// call is one logical request; exec turns it into one or more attempts.
type call struct {
	op     string // names the operation and ids in errors: "get flow F in env E"
	method string
	url    *url.URL
	scope  string
	body   []byte // nil: no body
	safety safety
	// hint tells the caller what to check when an unsafe write is ambiguous.
	hint string
	// decode reads a 2xx body into the result; it must reset what it fills,
	// since a retried attempt calls it again. nil: the body is not needed.
	decode func(body []byte) error
	// unpaced skips the identity's pacer (Graph calls).
	unpaced bool
}

// exec sends c until it succeeds, fails for good, runs out of attempts or
// ctx ends, and returns the final status.
func (c *Client) exec(ctx context.Context, cl *call) (int, error) {
	if err := c.checkURL(cl.url); err != nil {
		return 0, fmt.Errorf("%s: %w", cl.op, err)
	}
	var failures, throttles int
	refreshed := false
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("%s: %w", cl.op, err)
		}
		o, identity, used, err := c.attempt(ctx, cl, n)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", cl.op, err)
		}
		if o.ok {
			return o.status, nil
		}
		cause := o.cause()
		var wait time.Duration
		switch shouldRetry(cl.safety, o) {
		case giveUp:
			if tokenRefused(o.apiErr) && !refreshed {
				// The service refused the token as expired (or no longer
				// valid): a 401 applies nothing, so one more attempt with a
				// fresh token is safe for every call, Create Flow included.
				refreshed = true
				ferr := c.freshToken(ctx, cl.scope, used)
				if ferr == nil {
					c.log.LogAttrs(ctx, slog.LevelDebug, "token refused; retrying once with a fresh one",
						slog.String("op", redact.String(cl.op)), slog.String("scope", cl.scope), slog.String("code", o.apiErr.Code))
					continue
				}
				return 0, fmt.Errorf("%s: %w (the token for scope %s was refused and %w)", cl.op, cause, cl.scope, ferr)
			}
			if o.apiErr != nil && o.apiErr.Status == http.StatusUnauthorized {
				// Most often a token for the wrong audience (sovereign
				// clouds disagree on theirs): say which scope was used.
				return 0, fmt.Errorf("%s: %w (the token for scope %s was refused)", cl.op, cause, cl.scope)
			}
			return 0, fmt.Errorf("%s: %w", cl.op, cause)
		case ambiguous:
			return 0, c.ambiguousErr(cl, cause)
		case retryThrottled:
			throttles++
			if throttles > c.maxThrottle {
				return 0, fmt.Errorf("%s: still throttled after %d waits: %w", cl.op, c.maxThrottle, cause)
			}
			wait = o.apiErr.RetryAfter
			if wait <= 0 {
				wait = c.backoff(throttles)
			}
			if p := c.pacer(identity); p != nil && !cl.unpaced {
				p.Pause(c.now().Add(wait))
			}
		case retryBackoff:
			failures++
			if failures >= c.maxAttempts {
				return 0, fmt.Errorf("%s: gave up after %d attempts: %w", cl.op, n, cause)
			}
			wait = c.backoff(failures)
			if o.apiErr != nil && o.apiErr.RetryAfter > 0 {
				wait = o.apiErr.RetryAfter
			}
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "retrying",
			slog.String("op", redact.String(cl.op)), slog.Int("attempt", n),
			slog.Duration("wait", wait), slog.String("reason", redact.String(cause.Error())))
		if err := c.sleep(ctx, wait); err != nil {
			return 0, fmt.Errorf("%s: waiting to retry: %w", cl.op, err)
		}
	}
}

func (c *Client) ambiguousErr(cl *call, cause error) error {
	hint := cl.hint
	if hint == "" {
		hint = "check the live state before retrying"
	}
	return fmt.Errorf("%s: %w (%s): %w", cl.op, ErrAmbiguousWrite, hint, cause)
}

// attempt sends cl once. A non-nil error ends the call at once (no token,
// pacer refused, ctx ended); everything else is an outcome for shouldRetry.
// identity is the caller the token names, for pausing its pacer; tok is the
// token sent (never logged: exec only compares it with a fresh one).
func (c *Client) attempt(ctx context.Context, cl *call, n int) (o outcome, identity, tok string, err error) {
	tok, err = c.tokens.Token(ctx, cl.scope)
	if err != nil {
		return o, "", "", fmt.Errorf("get token for %s: %w", cl.scope, err)
	}
	identity = identityOf(tok)
	release := func() {}
	if p := c.pacer(identity); p != nil && !cl.unpaced {
		if release, err = pace(ctx, p, cl.method != http.MethodGet); err != nil {
			return o, identity, tok, fmt.Errorf("waiting for the pacer: %w", err)
		}
		// The slot is held until the response headers arrive (below); the
		// deferred call covers the returns before the request is sent.
		defer release()
		// The pacer may have held the call for a long time (the write limit
		// is hourly); ask again so the token sent is a fresh one.
		if tok, err = c.tokens.Token(ctx, cl.scope); err != nil {
			return o, identity, tok, fmt.Errorf("get token for %s: %w", cl.scope, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return o, identity, tok, err
	}

	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url.String(), body)
	if err != nil {
		return o, identity, tok, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{
		// Writing starts with the first header field; from then on the
		// server may have seen enough to act.
		WroteHeaderField: func(string, []string) { sent.Store(true) },
		WroteHeaders:     func() { sent.Store(true) },
		WroteRequest:     func(httptrace.WroteRequestInfo) { sent.Store(true) },
	}
	req = req.WithContext(httptrace.WithClientTrace(ctx, trace))

	start := c.now()
	resp, err := c.http.Do(req)
	release()
	if err != nil {
		err = transportError(cl.method, cl.url, err)
		c.logAttempt(ctx, cl, n, 0, start, err)
		if ctx.Err() != nil {
			return o, identity, tok, c.ctxEnded(ctx, cl, sent.Load())
		}
		return outcome{err: err, sent: sent.Load(), permanent: isPermanentTransportError(err)}, identity, tok, nil
	}
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	if rerr == nil && len(data) > maxBody {
		rerr = fmt.Errorf("response body larger than %d bytes", maxBody)
	}
	if rerr != nil {
		rerr = fmt.Errorf("read response body: %w", transportError(cl.method, cl.url, rerr))
	}
	c.logAttempt(ctx, cl, n, resp.StatusCode, start, rerr)
	if rerr != nil && ctx.Err() != nil {
		return o, identity, tok, c.ctxEnded(ctx, cl, true)
	}

	o = outcome{status: resp.StatusCode, sent: true}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// A short error body still says what failed; decode what arrived.
		e := api.DecodeError(resp.StatusCode, resp.Header, data, c.now())
		o.apiErr = e
		return o, identity, tok, nil
	}
	if cl.decode == nil {
		// The status is the answer; a short body loses nothing.
		o.ok = true
		return o, identity, tok, nil
	}
	if rerr != nil {
		o.err = rerr
		return o, identity, tok, nil
	}
	if err := cl.decode(data); err != nil {
		o.err = fmt.Errorf("decode %d response (%d bytes): %w", resp.StatusCode, len(data), err)
		// A body cut short is a syntax error and worth another attempt; a
		// complete body of the wrong shape will not change.
		var typeErr *json.UnmarshalTypeError
		o.permanent = errors.As(err, &typeErr)
		return o, identity, tok, nil
	}
	o.ok = true
	return o, identity, tok, nil
}

// acquirer is a Pacer that can hold a call's slot until the call ends
// (pacer.Pacer does). Wait alone counts a call as received when it is let
// go, so a call delayed on its way (a busy connection pool, a server
// queueing a burst) can land in the server's window after the next one and
// overbook it; a slot held until the response cannot.
type acquirer interface {
	Acquire(ctx context.Context, write bool) (release func(), err error)
}

// pace waits for p's leave to send; release ends the call's hold on its
// slot (a no-op for a Pacer that only has Wait).
func pace(ctx context.Context, p Pacer, write bool) (release func(), err error) {
	if a, ok := p.(acquirer); ok {
		return a.Acquire(ctx, write)
	}
	return func() {}, p.Wait(ctx, write)
}

// ctxEnded is the error for a call whose ctx ended during an attempt. An
// unsafe write that may have left the process is ambiguous as well.
func (c *Client) ctxEnded(ctx context.Context, cl *call, sent bool) error {
	if sent && cl.safety == unsafe {
		hint := cl.hint
		if hint == "" {
			hint = "check the live state before retrying"
		}
		return fmt.Errorf("%w (%s): %w", ErrAmbiguousWrite, hint, ctx.Err())
	}
	return ctx.Err()
}

// transportError rewrites net/http's *url.Error, whose text carries the whole
// URL, into one naming the method and the redacted path only.
func transportError(method string, u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s %s: %w", method, redact.String(u.Host+u.EscapedPath()), err)
}

// logAttempt writes one debug line per attempt: never the token, a body, or
// query values other than api-version.
func (c *Client) logAttempt(ctx context.Context, cl *call, n, status int, start time.Time, err error) {
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", cl.method),
		slog.String("host", cl.url.Host),
		slog.String("path", redact.String(cl.url.EscapedPath())),
		slog.String("api-version", cl.url.Query().Get("api-version")),
		slog.Int("status", status),
		slog.Int("attempt", n),
		slog.Duration("duration", c.now().Sub(start)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", redact.String(err.Error())))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "http", attrs...)
}
