// Package hulian is a Go client of the Hulian switch's API v1.
//
// hulian.gen.go is generated from the switch's OpenAPI document by
// oapi-codegen (run `make clients` in the repository; never edit it): a
// type for every schema (Transfer, NewTransfer, Quote, PartyLookup, the
// callbacks' TransfersCommitted and TransferConfirm …) and a method for
// every operation (CreateTransferWithResponse, LookupPartyWithResponse …),
// whose answer holds the decoded body of each status it may have
// (JSON201, ApplicationproblemJSON422 …).
//
// This file adds what the generator does not: New, a client that sends
// its Bearer credential on every request, and Check, which turns any
// answer that is not 2xx into a *ProblemError naming the problem type.
//
// Amounts are decimal strings in the currency's major unit (Amount,
// "100.00"), as on the wire: parse them into integer minor units or a
// decimal type, never into a float.
//
//	c, err := hulian.New("https://switch.example", apiKey)
//	resp, err := c.GetTransferWithResponse(ctx, "pay-0001")
//	if err := hulian.Check(resp, err); err != nil {
//		return err // a *hulian.ProblemError if the switch refused
//	}
//	fmt.Println(resp.JSON200.State, resp.JSON200.Fee)
package hulian

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"
)

// DefaultTimeout bounds each request of a client made by New without
// WithHTTPClient. A payment to a payee in confirm mode is answered once
// the payee decides, within the switch's confirm timeout (seconds).
const DefaultTimeout = 60 * time.Second

// New returns a client of the switch at baseURL (its scheme, host and
// port, e.g. "https://switch.example") that authenticates every request
// with token: a participant's API key ("<participant id>.<secret>"), or
// the operator's or regulator's token. opts apply after New's own, so
// WithHTTPClient replaces the default one (DefaultTimeout).
func New(baseURL, token string, opts ...ClientOption) (*ClientWithResponses, error) {
	if token == "" {
		return nil, errors.New("hulian: empty token")
	}
	base := []ClientOption{
		WithHTTPClient(&http.Client{Timeout: DefaultTimeout}),
		WithRequestEditorFn(Bearer(token)),
	}
	return NewClientWithResponses(baseURL, append(base, opts...)...)
}

// Bearer returns a request editor that sets the Authorization header to
// token, for clients made with NewClient or NewClientWithResponses.
func Bearer(token string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// ProblemTypeBase prefixes every problem type the switch answers; the rest
// is the case, e.g. "insufficient-funds".
const ProblemTypeBase = "https://hulian.dev/problems/"

// ProblemError is a refusal of the switch: the RFC 9457 problem document
// of an answer that is not 2xx. Branch on Case (or IsProblem), which is
// stable; Title and Detail are for people.
type ProblemError struct {
	Status int    // the HTTP status
	Type   string // the problem type, a URI: ProblemTypeBase + the case
	Title  string
	Detail string
	// Rule and Reason come with risk-declined: the operator's rule that
	// declined the payment and its reason code, for the payer's user.
	Rule, Reason string
	// RequestID is the Hulian-Request-Id the switch logged the request
	// under: quote it when asking the operator.
	RequestID string
}

// Case returns the problem's case, e.g. "insufficient-funds": the last
// segment of its type. An answer that was not a problem document has the
// case "" (see Status).
func (e *ProblemError) Case() string {
	return e.Type[strings.LastIndex(e.Type, "/")+1:]
}

func (e *ProblemError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hulian: %d", e.Status)
	if c := e.Case(); c != "" {
		fmt.Fprintf(&b, " %s", c)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	} else if e.Title != "" {
		fmt.Fprintf(&b, ": %s", e.Title)
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, " (rule %s, reason %s)", e.Rule, e.Reason)
	}
	return b.String()
}

// IsProblem reports whether err is (or wraps) a *ProblemError of the
// case kase, e.g. IsProblem(err, "unknown-party").
func IsProblem(err error, kase string) bool {
	var p *ProblemError
	return errors.As(err, &p) && p.Case() == kase
}

// Response is what every answer of a ClientWithResponses method is.
type Response interface {
	StatusCode() int
	ContentType() string
	Bytes() []byte
}

// bodyMax bounds how much of a body that is not a problem document goes
// into a ProblemError's Detail.
const bodyMax = 512

// Check returns err if the request failed, nil if the switch answered
// 2xx, and otherwise a *ProblemError made from the problem document
// (or, from a proxy's answer that is not one, from the status and the
// start of the body).
func Check(resp Response, err error) error {
	if err != nil {
		return err
	}
	status := resp.StatusCode()
	if status >= 200 && status < 300 {
		return nil
	}
	p := &ProblemError{Status: status}
	if h := header(resp); h != nil {
		p.RequestID = h.Get("Hulian-Request-Id")
	}
	mt, _, _ := mime.ParseMediaType(resp.ContentType())
	var doc Problem
	if (mt == "application/problem+json" || mt == "application/json") && json.Unmarshal(resp.Bytes(), &doc) == nil && doc.Type != "" {
		p.Type, p.Title = doc.Type, doc.Title
		p.Detail = deref(doc.Detail)
		p.Rule, p.Reason = deref(doc.Rule), deref(doc.Reason)
		return p
	}
	p.Title = http.StatusText(status)
	body := resp.Bytes()
	if len(body) > bodyMax {
		body = body[:bodyMax]
	}
	p.Detail = strings.TrimSpace(string(body))
	return p
}

// header returns the headers of a generated answer, from its
// HTTPResponse field, which every answer has but no method returns.
func header(resp Response) http.Header {
	v := reflect.Indirect(reflect.ValueOf(resp))
	if v.Kind() != reflect.Struct {
		return nil
	}
	f := v.FieldByName("HTTPResponse")
	if !f.IsValid() || !f.CanInterface() {
		return nil
	}
	if r, ok := f.Interface().(*http.Response); ok && r != nil {
		return r.Header
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
