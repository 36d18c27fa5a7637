package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"time"
)

// conn is one worker's HTTP/1.1 keep-alive connection, written and read
// by the worker's own goroutine. net/http's Transport costs ~40 µs of CPU
// per request on this project's machine (a read loop and a write loop
// goroutine per connection, channels between them and the caller, a
// Header map per answer), as much as the switch spends on a lookup: a
// generator sharing the switch's cores would measure mostly itself.
// This client writes a request in one system call from a reused buffer
// and parses the status line and the three headers it needs; chunked
// bodies go through the standard library's decoder. It redials after
// any error, so that one broken connection costs one failed request.
type conn struct {
	network, addr string
	tls           *tls.Config // nil for http
	timeout       time.Duration

	c   net.Conn
	br  *bufio.Reader
	req []byte
}

// errMalformed is an answer this client cannot read as HTTP/1.1.
var errMalformed = errors.New("malformed HTTP answer")

func newConn(target string, useTLS bool, serverName string, timeout time.Duration) *conn {
	c := &conn{network: "tcp", addr: target, timeout: timeout, req: make([]byte, 0, 4<<10)}
	if useTLS {
		c.tls = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName, NextProtos: []string{"http/1.1"}}
	}
	return c
}

func (c *conn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, c.network, c.addr)
	if err != nil {
		return err
	}
	if c.tls != nil {
		tc := tls.Client(nc, c.tls)
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	c.c = nc
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 64<<10)
	} else {
		c.br.Reset(nc)
	}
	return nil
}

// close drops the connection; the next request dials a new one.
func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// do sends method path with the header lines hdr (each ending in CRLF,
// without Content-Length) and body (nil: none), and appends the answer's
// body to resp. It returns the status code and the grown resp.
func (c *conn) do(ctx context.Context, method string, path, hdr, body, resp []byte) (int, []byte, error) {
	if c.c == nil {
		if err := c.dial(ctx); err != nil {
			return 0, resp, err
		}
	}
	b := append(c.req[:0], method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\n"...)
	b = append(b, hdr...)
	if body != nil {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	c.req = b
	if err := c.c.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		c.close()
		return 0, resp, err
	}
	if _, err := c.c.Write(b); err != nil {
		c.close()
		return 0, resp, err
	}
	status, resp, keep, err := c.read(method, resp)
	if err != nil || !keep {
		c.close()
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // the server closed the connection before answering in full
	}
	return status, resp, err
}

// read reads one answer: the status line, the headers (of which it
// keeps Content-Length, Transfer-Encoding and Connection) and the body.
func (c *conn) read(method string, resp []byte) (status int, out []byte, keep bool, err error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, resp, false, err
	}
	// "HTTP/1.1 201 Created\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, resp, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil || status < 100 {
		return 0, resp, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	keep = line[7] == '1' // HTTP/1.0 closes unless told otherwise; the switch speaks 1.1
	length, chunked := int64(-1), false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, resp, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, resp, false, fmt.Errorf("%w: header %q", errMalformed, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return 0, resp, false, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
			length = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
			if !chunked {
				return 0, resp, false, fmt.Errorf("%w: Transfer-Encoding %q", errMalformed, value)
			}
		case asciiEqualFold(name, "Connection"):
			keep = !asciiEqualFold(value, "close")
		}
	}
	switch {
	case method == "HEAD" || status == 204 || status == 304 || status < 200:
		return status, resp, keep, nil
	case chunked:
		if resp, err = readAll(httputil.NewChunkedReader(c.br), resp); err != nil {
			return status, resp, false, err
		}
		// The chunked reader stops at the last chunk; the trailer, empty
		// from the switch, ends with a blank line.
		for {
			line, err := c.br.ReadSlice('\n')
			if err != nil {
				return status, resp, false, err
			}
			if len(bytes.TrimRight(line, "\r\n")) == 0 {
				return status, resp, keep, nil
			}
		}
	case length >= 0:
		resp = grow(resp, int(length))
		n := len(resp)
		resp = resp[:n+int(length)]
		_, err = io.ReadFull(c.br, resp[n:])
		return status, resp, keep, err
	default: // the body runs to the end of the connection
		resp, err = readAll(c.br, resp)
		return status, resp, false, err
	}
}

// grow makes room for n more bytes in b.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// asciiEqualFold compares a header name or token case-insensitively.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
