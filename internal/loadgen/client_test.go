package loadgen

import (
	"bufio"
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The client must read whatever a net/http server answers: fixed
// lengths, chunked bodies, empty answers, connections closed by the
// server, over plain TCP and TLS, and reuse one connection meanwhile.
func TestConn(t *testing.T) {
	var conns atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusCreated)
			w.Write(body)
		case "/big": // more than the server's buffer: chunked
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			for i := range n {
				w.Write([]byte{byte('a' + i%26)})
			}
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/hangup":
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
			c.Close()
		}
	})
	for _, useTLS := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(useTLS), func(t *testing.T) {
			conns.Store(0)
			srv := httptest.NewUnstartedServer(h)
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			if useTLS {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			u, _ := url.Parse(srv.URL)
			c := newConn(u.Host, useTLS, "127.0.0.1", 150*time.Millisecond)
			if useTLS {
				pool := x509.NewCertPool()
				pool.AddCert(srv.Certificate())
				c.tls.RootCAs = pool
			}
			defer c.close()
			ctx := context.Background()
			hdr := []byte("Host: " + u.Host + "\r\nAuthorization: Bearer k\r\n")
			do := func(method, path string, body []byte) (int, string, error) {
				st, b, err := c.do(ctx, method, []byte(path), hdr, body, nil)
				return st, string(b), err
			}
			for i := range 3 {
				body := []byte(`{"n":` + strconv.Itoa(i) + `}`)
				if st, b, err := do("POST", "/echo", body); err != nil || st != 201 || b != string(body) {
					t.Fatalf("echo: %d %q %v", st, b, err)
				}
			}
			want := strings.Repeat("abcdefghijklmnopqrstuvwxyz", 4000)[:100000]
			if st, b, err := do("GET", "/big?n=100000", nil); err != nil || st != 200 || b != want {
				t.Fatalf("big: %d %d bytes %v", st, len(b), err)
			}
			if st, b, err := do("GET", "/empty", nil); err != nil || st != 204 || b != "" {
				t.Fatalf("empty: %d %q %v", st, b, err)
			}
			if st, b, err := do("GET", "/echo", nil); err != nil || st != 201 || b != "" {
				t.Fatalf("no body: %d %q %v", st, b, err)
			}
			if n := conns.Load(); n != 1 {
				t.Fatalf("%d connections for keep-alive requests, want 1", n)
			}
			if st, b, err := do("GET", "/close", nil); err != nil || st != 200 || b != "bye" {
				t.Fatalf("close: %d %q %v", st, b, err)
			}
			if c.c != nil {
				t.Fatal("the connection the server closed is kept")
			}
			if _, _, err := do("GET", "/hangup", nil); err == nil {
				t.Fatal("an answer cut short is not an error")
			}
			if _, _, err := do("GET", "/slow", nil); err == nil {
				t.Fatal("no timeout")
			} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				t.Fatalf("slow: %v, want a timeout", err)
			}
			if st, _, err := do("POST", "/echo", []byte("x")); err != nil || st != 201 {
				t.Fatalf("after errors: %d %v", st, err)
			}
			hdr = []byte("Host: " + u.Host + "\r\n")
			if st, _, err := do("GET", "/echo", nil); err != nil || st != 401 {
				t.Fatalf("unauthorized: %d %v", st, err)
			}
		})
	}
}

// Answers that are not HTTP/1.1 are errors, not panics or hangs.
func TestConnMalformed(t *testing.T) {
	for _, answer := range []string{
		"SMTP ready\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			bufio.NewReader(c).ReadString('\n')
			c.Write([]byte(answer))
			time.Sleep(50 * time.Millisecond)
			c.Close()
		}()
		c := newConn(ln.Addr().String(), false, "", time.Second)
		st, _, err := c.do(context.Background(), "GET", []byte("/"), nil, nil, nil)
		if err == nil {
			t.Errorf("%q: status %d, no error", answer, st)
		}
		c.close()
		ln.Close()
	}
}
