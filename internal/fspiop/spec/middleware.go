package spec

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// Transport returns a RoundTripper that checks every request it carries
// and the synchronous answer to it against the definition version their
// Content-Type names (DefaultVersion if none), and records what does not
// conform in Failures. It changes nothing and blocks nothing, so the code
// under test sees what it would without it. Paths are matched from the
// root: a participant endpoint with a path prefix shows as an unknown
// operation. A nil next means http.DefaultTransport.
func (v *Validator) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{v: v, next: next}
}

type transport struct {
	v    *Validator
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("spec: read request body: %w", err)
		}
		body = b
		// A RoundTripper must not change the caller's request: send a
		// copy whose body is the bytes just read.
		out = req.Clone(req.Context())
		out.Body = io.NopCloser(bytes.NewReader(b))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		out.ContentLength = int64(len(b))
	}
	version := versionOf(req.Header)
	uri := req.URL.RequestURI()
	t.v.record(t.v.Check(version, req.Method, uri, req.Header, body))
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return resp, err
	}
	rb, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr != nil {
		// Give the caller the same failure it would have met reading.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(rb), errReader{rerr}))
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	t.v.record(t.v.p.check(version, req.Method, uri, &resp.StatusCode, resp.Header, rb))
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Handler returns a handler that checks every request it serves and the
// synchronous answer next gives it, as Transport does, recording what does
// not conform in Failures; next sees the request unchanged. Mount it where
// FSPIOP paths start at the root (inside http.StripPrefix if need be).
func (v *Validator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			v.record(fmt.Errorf("%s %s: read body: %w", r.Method, r.URL.RequestURI(), err))
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		version := versionOf(r.Header)
		uri := r.URL.RequestURI()
		v.record(v.Check(version, r.Method, uri, r.Header, body))
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		v.record(v.p.check(version, r.Method, uri, &status, rec.Header(), rec.body.Bytes()))
	})
}

// recorder passes an answer on and keeps a copy of its status and body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
