package main

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// proxy forwards TCP connections to a backend, delaying each direction by
// oneWay: a network with a round-trip time of 2*oneWay and no bandwidth
// limit.
type proxy struct {
	ln      net.Listener
	backend string
	oneWay  time.Duration
	conns   atomic.Int64
	// onAccept, if set, is called as each connection is accepted: when
	// the client began to connect.
	onAccept func()
}

func newProxy(backend string, oneWay time.Duration) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &proxy{ln: ln, backend: backend, oneWay: oneWay}, nil
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.conns.Add(1)
		if p.onAccept != nil {
			p.onAccept()
		}
		go p.forward(c)
	}
}

// forward carries one connection both ways until both ends are done.
//
// The kernel completes a loopback TCP handshake at once, so a client's
// connect returns a round trip earlier than on a real network, where it
// waits for the SYN's answer. Holding what the client sends until one
// round trip after the accept puts that round trip back: the client's first
// bytes reach the server 1.5 round trips after it began to connect, as they
// would.
func (p *proxy) forward(client net.Conn) {
	accepted := time.Now()
	server, err := net.Dial("tcp", p.backend)
	if err != nil {
		_ = client.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		delay(server, client, p.oneWay, accepted.Add(2*p.oneWay))
	}()
	go func() {
		defer wg.Done()
		delay(client, server, p.oneWay, time.Time{})
	}()
	wg.Wait()
	_ = client.Close()
	_ = server.Close()
}

// chunk is what one read returned, and when to write it on; eof marks the
// end of the stream, which travels with the same delay.
type chunk struct {
	data []byte
	at   time.Time
	eof  bool
}

// delay copies src to dst in order, writing each chunk oneWay after it was
// read (and no earlier than notBefore+oneWay). A reader and a writer run
// apart, so a chunk's delay does not hold up the reading of the next one:
// the delay is latency, not a narrower pipe. At src's end it half-closes
// dst; if dst fails, it closes src so that its reader stops.
func delay(dst, src net.Conn, oneWay time.Duration, notBefore time.Time) {
	ch := make(chan chunk, 1024)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			at := time.Now()
			if at.Before(notBefore) {
				at = notBefore
			}
			if n > 0 {
				ch <- chunk{data: buf[:n], at: at.Add(oneWay)}
			}
			if err != nil {
				ch <- chunk{at: at.Add(oneWay), eof: true}
				return
			}
		}
	}()
	for c := range ch {
		time.Sleep(time.Until(c.at))
		if c.eof {
			closeWrite(dst)
			continue
		}
		if _, err := dst.Write(c.data); err != nil {
			_ = src.Close()
			_ = dst.Close()
			for range ch { // let the reader end
			}
			return
		}
	}
}

// closeWrite sends a FIN and leaves the other direction open, as the end
// the proxy stands for did.
func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	_ = c.Close()
}
