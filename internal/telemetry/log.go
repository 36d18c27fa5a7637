package telemetry

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
)

// RequestIDHeader carries a request's id: a client may send one, and
// every answer carries the id the request was logged under.
const RequestIDHeader = "Hulian-Request-Id"

// RequestIDMax is the longest request id a client may send.
const RequestIDMax = 64

// ValidRequestID reports whether a client's request id may be used as it
// is: 1 to RequestIDMax characters of letters, digits and . _ -, so that
// it cannot forge log lines or carry anything but a token.
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > RequestIDMax {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// NewRequestID returns a fresh request id: 16 random bytes in hex. It
// needs to be unique, not secret, so it comes from the runtime's cheap
// generator rather than from the operating system.
func NewRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	var s [32]byte
	hex.Encode(s[:], b[:])
	return string(s[:])
}

// Request is what the logs know of the request being answered.
type Request struct {
	// ID is the request's id, as RequestIDHeader carries it.
	ID string
}

// RequestKey is the context key under which a *Request is found. A
// front end whose per-request record is a context of its own answers
// Value(RequestKey{}) itself, sparing an allocation per request; others
// use NewContext.
type RequestKey struct{}

// NewContext returns parent carrying r.
func NewContext(parent context.Context, r *Request) context.Context {
	return context.WithValue(parent, RequestKey{}, r)
}

// FromContext returns the request ctx belongs to, or nil.
func FromContext(ctx context.Context) *Request {
	r, _ := ctx.Value(RequestKey{}).(*Request)
	return r
}

// RequestIDAttr is the attribute that names the request of a log line.
const RequestIDAttr = "request_id"

// requestHandler adds the request's id to each record logged with a
// request's context.
type requestHandler struct{ slog.Handler }

// WithRequestID returns h adding the request's id ("request_id") to each
// record logged with the context of a request (the *Context methods, or
// LogAttrs); h itself if it does already.
func WithRequestID(h slog.Handler) slog.Handler {
	if _, ok := h.(requestHandler); ok {
		return h
	}
	return requestHandler{h}
}

// Handle adds the request id, if any, then hands the record on.
func (h requestHandler) Handle(ctx context.Context, r slog.Record) error {
	if rq := FromContext(ctx); rq != nil && rq.ID != "" {
		r.AddAttrs(slog.String(RequestIDAttr, rq.ID))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the request id on the handler with attrs.
func (h requestHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the request id on the handler with a group.
func (h requestHandler) WithGroup(name string) slog.Handler {
	return requestHandler{h.Handler.WithGroup(name)}
}

// ParseLevel reads a log level: debug, info, warn or error.
func ParseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// NewLogger returns a logger writing to w in format, "json" (one JSON
// object a line) or "text" (key=value), at level and above (see
// ParseLevel), with the request's id on the lines of a request.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	lv, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return slog.New(WithRequestID(h)), nil
}
