package dfsp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hulian/hulian/internal/fspiop/msg"
)

// pathOf joins path segments, each escaped as a path segment ("+" stays
// "+", as the SDK writes identifiers raw).
func pathOf(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// signs reports whether the SDK signs a message: one with a body, but PUT
// /parties (JWS_SIGN_PUT_PARTIES=false), errors included.
func signs(method, resource string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch:
		return true
	case http.MethodPut:
		return resource != msg.ResourceParties
	}
	return false
}

// send sends one request or callback to the switch with the SDK's headers
// and reports whether the switch took it: 202 for GET and POST, 200 for PUT
// and PATCH, with an empty body. body is marshalled to JSON (nil: none).
func (d *DFSP) send(ctx context.Context, method, path, dest string, body any) error {
	if err := d.errClosed(); err != nil {
		return err
	}
	resource := msg.Resource(path)
	h := http.Header{}
	h.Set(msg.HeaderContentType, msg.ContentType(resource, d.cfg.ContentVersion))
	if method != http.MethodPut && method != http.MethodPatch {
		h.Set(msg.HeaderAccept, msg.Accept(resource))
	}
	h.Set(msg.HeaderDate, msg.FormatDate(d.cfg.Now()))
	h.Set(msg.HeaderSource, d.cfg.ID)
	if dest != "" {
		h.Set(msg.HeaderDestination, dest)
	}
	if d.cfg.APIKey != "" {
		h.Set(msg.HeaderAuthorization, "Bearer "+d.cfg.APIKey)
	}
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return fmt.Errorf("dfsp: %s %s: %w", method, path, err)
		}
		if d.signer != nil && signs(method, resource) {
			if b, err = d.signer.Sign(h, method, path, b); err != nil {
				return fmt.Errorf("dfsp: sign %s %s: %w", method, path, err)
			}
		}
	}
	if d.cfg.Check != nil {
		if err := d.cfg.Check(Sent, method, path, h, b); err != nil {
			err = fmt.Errorf("%w: sent %s %s: %w", ErrCheck, method, path, err)
			d.problem(err)
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, d.cfg.SwitchURL+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrSend, method, path, err)
	}
	req.Header = h
	if b == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	res, err := d.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrSend, method, path, err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	want := http.StatusAccepted
	if method == http.MethodPut || method == http.MethodPatch {
		want = http.StatusOK
	}
	if res.StatusCode != want {
		var eb msg.ErrorBody
		if json.Unmarshal(got, &eb) == nil && eb.ErrorInformation.ErrorCode != "" {
			return fmt.Errorf("%w: %s %s: %w", ErrSend, method, path,
				&StatusError{Status: res.StatusCode, Info: eb.ErrorInformation})
		}
		return fmt.Errorf("%w: %s %s: %d, want %d: %q", ErrSend, method, path, res.StatusCode, want, got)
	}
	if len(got) > 0 {
		// The SDK: "Expected empty response body but got content".
		return fmt.Errorf("%w: %s %s: a body in the %d answer: %q", ErrSend, method, path, res.StatusCode, got)
	}
	return nil
}

// StatusError is the switch's synchronous refusal of a request: an HTTP
// status and an FSPIOP error body. It wraps the msg sentinel of the code's
// category.
type StatusError struct {
	Status int
	Info   msg.ErrorInformation
}

// Error returns "answered 400: 3100 Generic validation error - …".
func (e *StatusError) Error() string {
	return fmt.Sprintf("answered %d: %s %s", e.Status, e.Info.ErrorCode, e.Info.ErrorDescription)
}

// Unwrap returns the sentinel of the code's category.
func (e *StatusError) Unwrap() error { return (&msg.Error{Code: e.Info.Code()}).Unwrap() }

// sendError sends PUT <path>/error with e, to dest.
func (d *DFSP) sendError(ctx context.Context, path, dest string, e *msg.Error) error {
	return d.send(ctx, http.MethodPut, path+"/error", dest, e.Body())
}
