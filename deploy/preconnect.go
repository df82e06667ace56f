package deploy

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Preconnect opens the connection to the API in the background, TCP and,
// for https, TLS, and hands it to the client's first request: a caller with
// work to do first (bundling) pays the connection's round trips while it
// works. It returns at once and sends no request, so it may be called
// before the caller has decided to send one.
//
// The connection is closed unused when ctx ends or CloseIdleConnections is
// called before a request took it. A first request that comes while it is
// still being set up waits for it, since it began earlier than a new dial
// would. If it fails, or the server closed it while it waited, the first
// request dials as it would have without it.
//
// Preconnect does nothing when called a second time, when the client's
// transport is not its own, or when a proxy is set for the API's URL
// (HTTPS_PROXY): a request through a proxy needs a connection to the proxy.
func (c *Client) Preconnect(ctx context.Context) {
	t, ok := c.http.Transport.(*transport)
	if !ok {
		return
	}
	if proxy, err := t.Proxy(&http.Request{URL: c.base}); err != nil || proxy != nil {
		return
	}
	port, useTLS := cmp.Or(c.base.Port(), "80"), c.base.Scheme == "https"
	if useTLS {
		port = cmp.Or(c.base.Port(), "443")
	}
	p := &preconn{addr: net.JoinHostPort(c.base.Hostname(), port), tls: useTLS, ready: make(chan struct{})}
	t.mu.Lock()
	if t.pre != nil {
		t.mu.Unlock()
		return
	}
	t.pre = p
	t.mu.Unlock()
	stop := context.AfterFunc(ctx, t.discard)
	go func() {
		defer close(p.ready)
		conn, err := t.connect(ctx, "tcp", p.addr, useTLS)
		if err != nil {
			stop()
			return
		}
		t.mu.Lock()
		if !p.dropped {
			p.conn, conn = conn, nil
		}
		t.mu.Unlock()
		if conn != nil { // discarded while it opened
			_ = conn.Close()
		}
	}()
}

// CloseIdleConnections closes the connections the client keeps open between
// requests, and the one Preconnect opened if no request took it. The client
// can still be used: a later request dials again.
func (c *Client) CloseIdleConnections() {
	c.http.CloseIdleConnections()
}

// preconn is the connection Preconnect opens ahead of the first request.
// The transport's mu guards conn, taken and dropped.
type preconn struct {
	addr  string // host:port, as http.Transport names it to a dial
	tls   bool
	ready chan struct{} // closed once the dial has ended

	conn    net.Conn // the open connection, until a dial takes it or it is discarded
	taken   bool     // a dial claimed it: the first only
	dropped bool     // discarded: a connection that opens now is closed at once
}

// discard closes the preconnection, if there is one, unless a dial took it,
// and any that opens later.
func (t *transport) discard() {
	t.mu.Lock()
	var conn net.Conn
	if p := t.pre; p != nil {
		conn, p.conn, p.dropped = p.conn, nil, true
	}
	t.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

// take hands the preconnection to the first dial for its address, waiting
// for it if it is still being set up. It returns nil, and the caller dials,
// when there is none for addr, when it failed or was discarded, or when the
// server closed it while it waited.
func (t *transport) take(ctx context.Context, addr string, useTLS bool) net.Conn {
	t.mu.Lock()
	p := t.pre
	first := p != nil && p.addr == addr && p.tls == useTLS && !p.taken
	if first {
		p.taken = true
	}
	t.mu.Unlock()
	if !first {
		return nil
	}
	select {
	case <-p.ready:
	case <-ctx.Done():
		t.discard() // no other dial may take it now
		return nil
	}
	t.mu.Lock()
	conn := p.conn
	p.conn = nil
	t.mu.Unlock()
	if conn != nil && !alive(conn) {
		_ = conn.Close()
		return nil
	}
	return conn
}

// alive reports whether the server kept conn open while it waited for its
// first request. A server sends nothing before a request, but may close a
// connection that is idle too long; a short read sees a close that has
// arrived. A timeout leaves the connection usable, tls.Conn's too, and
// tls.Conn consumes the session tickets a TLS 1.3 server sends.
func alive(conn net.Conn) bool {
	if conn.SetReadDeadline(time.Now().Add(aliveWait)) != nil {
		return false
	}
	var b [1]byte
	n, err := conn.Read(b[:])
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
		return false
	}
	return conn.SetReadDeadline(time.Time{}) == nil
}
