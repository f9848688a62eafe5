package conformance

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// pipeNetwork is an in-memory network for tests inside a testing/synctest
// bubble: a real HTTP server and a real http.Transport talk over net.Pipe
// connections, so that a goroutine waiting for an answer is durably blocked
// and the bubble's fake clock can move, which it cannot while a goroutine
// waits on a socket. Everything stays in the process.
type pipeNetwork struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

var _ net.Listener = (*pipeNetwork)(nil)

func newPipeNetwork() *pipeNetwork {
	return &pipeNetwork{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept hands the server the far end of each dialled pipe.
func (n *pipeNetwork) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.closed:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and further dials.
func (n *pipeNetwork) Close() error {
	n.once.Do(func() { close(n.closed) })
	return nil
}

func (n *pipeNetwork) Addr() net.Addr { return pipeAddr{} }

// DialContext is the http.Transport's dialler: one pipe per connection.
func (n *pipeNetwork) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case n.conns <- server:
		return client, nil
	case <-n.closed:
		return nil, errors.New("pipe network closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// transport is an http.Transport that dials only this network.
func (n *pipeNetwork) transport() *http.Transport {
	return &http.Transport{DialContext: n.DialContext, MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: false}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "emulator.pipe:80" }
