package deploy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// A deploy over TLS costs, in round trips: the API's TCP and TLS set-up (2,
// which Preconnect overlaps with bundling), provision (1), the upload host's
// TCP, TLS and POST (3), and finalize (1) on the kept-alive API connection.
// The transport below is what keeps it there: bench/latency.sh measures it.
const (
	dialTimeout         = 30 * time.Second // as http.DefaultTransport
	tlsHandshakeTimeout = 10 * time.Second // as http.DefaultTransport
	keepAlive           = 30 * time.Second // TCP keep-alive probes, as http.DefaultTransport
	idleConnTimeout     = 90 * time.Second
	// aliveWait is how long a read waits to see whether the server closed a
	// preconnection before its first request: a close that arrived is seen
	// at once; an open connection costs this wait.
	aliveWait = 100 * time.Microsecond
)

// transport is each Client's own HTTP transport. It speaks HTTP/1.1 with
// keep-alive, so that provision and finalize share one API connection and
// the upload host gets one of its own; TLS 1.2 or 1.3, and 1.3 (one round
// trip) whenever the server has it. It never sends Expect: 100-continue,
// which would hold the upload's body back for a round trip. Its dials take
// the connection Preconnect opened, when there is one for the address.
type transport struct {
	*http.Transport
	dialer *net.Dialer
	tls    *tls.Config

	mu  sync.Mutex // guards pre, and what preconn says it guards
	pre *preconn   // nil until Preconnect
}

func newTransport() *transport {
	t := &transport{
		dialer: &net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive, ControlContext: refuseInternal},
		// TLS 1.2 stays allowed: refusing it would buy nothing against a
		// server that has 1.3, which Go then chooses, and would fail
		// against one (a corporate proxy, say) that has only 1.2.
		tls: &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
	}
	t.Transport = &http.Transport{
		Proxy:          http.ProxyFromEnvironment,
		DialContext:    t.dial(false),
		DialTLSContext: t.dial(true),
		// Used only for a target reached through a proxy's CONNECT tunnel;
		// DialTLSContext does every other handshake.
		TLSClientConfig:     t.tls,
		TLSHandshakeTimeout: tlsHandshakeTimeout,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     idleConnTimeout,
	}
	return t
}

// dial is the transport's dial: with useTLS, of a TLS connection past its
// handshake; without, of a plain TCP connection (to a loopback API over
// http, or to a proxy). It takes the preconnection when there is one for
// the address.
func (t *transport) dial(useTLS bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if conn := t.take(ctx, addr, useTLS); conn != nil {
			return conn, nil
		}
		return t.connect(ctx, network, addr, useTLS)
	}
}

// connect dials addr and, with useTLS, completes the handshake as
// http.Transport would: verified against the system's roots for the host
// of addr, within tlsHandshakeTimeout.
func (t *transport) connect(ctx context.Context, network, addr string, useTLS bool) (net.Conn, error) {
	raw, err := t.dialer.DialContext(ctx, network, addr)
	if err != nil || !useTLS {
		return raw, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	cfg := t.tls.Clone()
	cfg.ServerName = host
	conn := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := conn.HandshakeContext(hctx); err != nil {
		_ = raw.Close()
		// The handshake's own limit is not the request's: say which it was,
		// or the retry policy would report a request that got no answer.
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("TLS handshake: no answer within %v", tlsHandshakeTimeout)
		}
		return nil, err
	}
	return conn, nil
}

// A context with publicOnlyKey makes the client's transport refuse to
// connect, for a request made with it, to an address that internalAddr
// refuses. The
// check is made on the address dialed, after name resolution: an upload
// URL whose name resolves (or is rebound) to 169.254.169.254 or 10.0.0.1 is
// refused there, where no check of the URL can see it. Through a proxy the
// address dialed is the proxy's, which the runner chose: it is not checked,
// and the proxy resolves the name.
type publicOnlyKey struct{}

// internalAddressError is a connection refused before it was made: to an
// internal address, for a request that may reach public addresses only. It
// is not retried: the answer that named the host is what is wrong.
type internalAddressError struct {
	address string // ip:port
	kind    string // what internalAddr says of it
}

func (e *internalAddressError) Error() string {
	return fmt.Sprintf("refused to connect to %s, %s: the upload URL the API gave must lead to a public host", e.address, e.kind)
}

// refuseInternal is the dialer's check of each address it connects to.
func refuseInternal(ctx context.Context, network, address string, _ syscall.RawConn) error {
	if only, _ := ctx.Value(publicOnlyKey{}).(bool); !only {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused to connect to %q: not an IP address and port", address)
	}
	if kind := internalAddr(ap.Addr()); kind != "" {
		return &internalAddressError{address: address, kind: kind}
	}
	return nil
}

// CloseIdleConnections closes the connections kept alive between requests,
// and the preconnection if no request took it.
func (t *transport) CloseIdleConnections() {
	t.Transport.CloseIdleConnections()
	t.discard()
}
