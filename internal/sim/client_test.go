package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/wire"
)

// stubAnswer is what a fake switch says to one request.
type stubAnswer struct {
	status      int
	contentType string
	retryAfter  string
	body        string
	delay       time.Duration
}

// stubSwitch answers every request with a and records the last one's
// method, escaped path and Authorization header.
type stubSwitch struct {
	a                  stubAnswer
	method, path, auth string
}

func (f *stubSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.method, f.path, f.auth = r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization")
	io.Copy(io.Discard, r.Body)
	if f.a.delay > 0 {
		select {
		case <-time.After(f.a.delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.a.contentType != "" {
		w.Header().Set("Content-Type", f.a.contentType)
	}
	if f.a.retryAfter != "" {
		w.Header().Set("Retry-After", f.a.retryAfter)
	}
	w.WriteHeader(f.a.status)
	io.WriteString(w, f.a.body)
}

// newStubSwitch serves f until the test ends and returns a client of it.
func newStubSwitch(t *testing.T, f *stubSwitch) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return NewClient(srv.URL+"/", "k-1", srv.Client())
}

func problemBody(kind string, status int) string {
	return fmt.Sprintf(`{"type":%q,"title":"t","status":%d,"detail":"d"}`, wire.ProblemBase+kind, status)
}

// TestClientRefusals: an answer other than 2xx is an *Error with the
// answer's status (whatever the document says), its problem, and its
// Retry-After; Definite tells the refusals worth retrying from the rest.
func TestClientRefusals(t *testing.T) {
	for _, tc := range []struct {
		name          string
		a             stubAnswer
		kind          string
		problemStatus int
		retryAfter    time.Duration
		definite      bool
	}{
		{"problem", stubAnswer{status: 422, contentType: "application/problem+json", body: problemBody(ProblemInsufficientFunds, 422)},
			ProblemInsufficientFunds, 422, 0, true},
		{"document's status is not the answer's", stubAnswer{status: 404, contentType: "application/problem+json", body: problemBody(ProblemUnknownParty, 400)},
			ProblemUnknownParty, 404, 0, true},
		{"plain json", stubAnswer{status: 409, contentType: "application/json", body: problemBody(ProblemDuplicateConflict, 409)},
			ProblemDuplicateConflict, 409, 0, true},
		{"proxy's page", stubAnswer{status: 502, contentType: "text/html", body: "<h1>Bad gateway</h1>"},
			"about:blank", 502, 0, false},
		{"rate limited", stubAnswer{status: 429, contentType: "application/problem+json", retryAfter: "3", body: problemBody(ProblemRateLimited, 429)},
			ProblemRateLimited, 429, 3 * time.Second, false},
		{"unavailable, bad Retry-After", stubAnswer{status: 503, contentType: "application/problem+json", retryAfter: "soon", body: problemBody(ProblemUnavailable, 503)},
			ProblemUnavailable, 503, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &stubSwitch{a: tc.a}
			_, err := newStubSwitch(t, f).Transfer(context.Background(), "t-1")
			var e *Error
			if !errors.As(fmt.Errorf("wrapped: %w", err), &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if e.Kind() != tc.kind || e.Status != tc.a.status || e.Problem.Status != tc.problemStatus ||
				e.RetryAfter != tc.retryAfter || Definite(err) != tc.definite || !IsProblem(err, tc.kind) {
				t.Errorf("got kind %q status %d problem status %d retry after %v definite %v, want %q %d %d %v %v",
					e.Kind(), e.Status, e.Problem.Status, e.RetryAfter, Definite(err), tc.kind, tc.a.status, tc.problemStatus, tc.retryAfter, tc.definite)
			}
			if e.Method != http.MethodGet || e.Path != "/v1/transfers/t-1" {
				t.Errorf("error names %s %s", e.Method, e.Path)
			}
		})
	}
}

// TestDefinite: only the switch's refusal that is not temporary is
// definite; no answer, or an error of another kind, may yet succeed.
func TestDefinite(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"no answer", errors.New("connection refused"), false},
		{"not found", &Error{Status: 404}, true},
		{"wrapped conflict", fmt.Errorf("pay: %w", &Error{Status: 409}), true},
		{"rate limited", &Error{Status: 429}, false},
		{"server error", &Error{Status: 500}, false},
	} {
		if got := Definite(tc.err); got != tc.want {
			t.Errorf("%s: Definite = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRegisterPartyCreated: 201 is a new alias, 200 a replaced one; a
// refusal is an error.
func TestRegisterPartyCreated(t *testing.T) {
	for _, tc := range []struct {
		status  int
		created bool
		kind    string
	}{
		{http.StatusCreated, true, ""},
		{http.StatusOK, false, ""},
		{http.StatusConflict, false, ProblemDuplicateConflict},
	} {
		a := stubAnswer{status: tc.status, contentType: "application/json", body: `{"type":"MSISDN","value":"+254700000001","unknown":1}`}
		if tc.kind != "" {
			a = stubAnswer{status: tc.status, contentType: "application/problem+json", body: problemBody(tc.kind, tc.status)}
		}
		f := &stubSwitch{a: a}
		p, created, err := newStubSwitch(t, f).RegisterPartyCreated(context.Background(), wire.NewParty{Type: "MSISDN", Value: "+254700000001"})
		switch {
		case f.method != http.MethodPost || f.path != "/v1/parties" || f.auth != "Bearer k-1":
			t.Errorf("%d: sent %s %s (%q)", tc.status, f.method, f.path, f.auth)
		case tc.kind != "":
			if !IsProblem(err, tc.kind) || created {
				t.Errorf("%d: created %v, err %v, want %s", tc.status, created, err, tc.kind)
			}
		case err != nil || created != tc.created || p.Value != "+254700000001":
			t.Errorf("%d: party %+v created %v err %v, want created %v", tc.status, p, created, err, tc.created)
		}
	}
}

// TestDeleteParty: DELETE of the escaped alias; unknown-party when there
// is none.
func TestDeleteParty(t *testing.T) {
	for _, tc := range []struct {
		a    stubAnswer
		kind string
	}{
		{stubAnswer{status: http.StatusNoContent}, ""},
		{stubAnswer{status: http.StatusNotFound, contentType: "application/problem+json", body: problemBody(ProblemUnknownParty, 404)}, ProblemUnknownParty},
	} {
		f := &stubSwitch{a: tc.a}
		err := newStubSwitch(t, f).DeleteParty(context.Background(), "EMAIL", "a/b@example.com")
		if f.method != http.MethodDelete || f.path != "/v1/parties/EMAIL/a%2Fb@example.com" {
			t.Errorf("sent %s %s", f.method, f.path)
		}
		if ProblemKind(err) != tc.kind || (tc.kind == "") != (err == nil) {
			t.Errorf("%d: err = %v, want kind %q", tc.a.status, err, tc.kind)
		}
	}
}

// TestClientLimits: Timeout bounds a call the switch does not answer,
// AnswerMax cuts a long answer short, and an error without an answer
// names the method and path but not the switch's URL.
func TestClientLimits(t *testing.T) {
	slow := &stubSwitch{a: stubAnswer{status: 200, contentType: "application/json", body: "{}", delay: 5 * time.Second}}
	c := newStubSwitch(t, slow)
	c.Timeout = 50 * time.Millisecond
	start := time.Now()
	_, err := c.Transfer(context.Background(), "t-1")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("a switch that does not answer: err %v after %v, want the deadline after 50ms", err, time.Since(start))
	}
	if err != nil && (strings.Contains(err.Error(), "127.0.0.1") || !strings.HasPrefix(err.Error(), "GET /v1/transfers/t-1: ")) {
		t.Errorf("err = %q: want the method and path without the URL", err)
	}

	long := &stubSwitch{a: stubAnswer{status: 200, contentType: "application/json", body: `{"id":"` + strings.Repeat("x", 100) + `"}`}}
	c = newStubSwitch(t, long)
	if tr, err := c.Transfer(context.Background(), "t-1"); err != nil || len(tr.ID) != 100 {
		t.Fatalf("default AnswerMax: %v, %d", err, len(tr.ID))
	}
	c.AnswerMax = 64
	if _, err := c.Transfer(context.Background(), "t-1"); err == nil || !strings.Contains(err.Error(), "decoding the answer") {
		t.Errorf("an answer beyond AnswerMax: err = %v, want a decoding error", err)
	}
}
