package console

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/console/users"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/telemetry"
	"github.com/hulian/hulian/internal/wire"
)

// Answer is the API's answer to a call the console made.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// OK reports whether the API answered success (2xx).
func (a *Answer) OK() bool { return a.Status >= 200 && a.Status < 300 }

// Decode reads the answer's JSON body into v.
func (a *Answer) Decode(v any) error { return json.Unmarshal(a.Body, v) }

// Problem is the answer's problem document, when it is not a success;
// a body that is not one reads as a problem of its status alone.
func (a *Answer) Problem() wire.Problem {
	var p wire.Problem
	if json.Unmarshal(a.Body, &p) != nil || p.Status == 0 {
		p = wire.Problem{Status: a.Status, Title: http.StatusText(a.Status)}
	}
	return p
}

// recorder keeps an answer of the API in memory.
type recorder struct {
	a   Answer
	buf bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.a.Header }

func (r *recorder) WriteHeader(status int) {
	if r.a.Status == 0 {
		r.a.Status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.buf.Write(b)
}

// forbidden is the answer to a call the console refuses itself.
func forbidden(detail string) *Answer {
	b, _ := json.Marshal(wire.Problem{Type: wire.ProblemBase + "forbidden", Title: "Not allowed for these credentials",
		Status: http.StatusForbidden, Detail: detail})
	return &Answer{Status: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/problem+json"}}, Body: b}
}

// Call makes a request of the API as v's user, in process: method and
// path (with its query, "/v1/transfers?state=COMMITTED"), body marshaled
// to JSON unless nil. The API answers it as it answers the principal the
// user's role acts as (users.Role.Principal): the operator for
// operator-admin, the regulator for operator-viewer and regulator, the
// user's participant for the participant roles — its access levels,
// scoping (another participant's transfer is 404), validation, rate
// limits and problems. The console refuses a state-changing call of a
// role that changes nothing (403) before it reaches the API; so is a
// call for a participant that no longer exists.
//
// The call is logged as one of the API's, with caller console:<name>
// and the id of the page's request.
func (c *Console) Call(r *http.Request, v *Visit, method, path string, body any) *Answer {
	return c.call(r, v, method, path, body, "")
}

// call is Call with an Accept header ("text/csv"), if not "".
func (c *Console) call(r *http.Request, v *Visit, method, path string, body any, accept string) *Answer {
	if !safe(method) && !v.User.Role.Changes() {
		return forbidden("the " + string(v.User.Role) + " role reads and changes nothing")
	}
	if !strings.HasPrefix(path, "/v1/") {
		return &Answer{Status: http.StatusInternalServerError, Header: http.Header{}, Body: []byte(`{"status":500}`)}
	}
	var pa participant.Participant
	if v.User.Role.OfParticipant() {
		var ok bool
		if pa, ok = c.Participants.Get(v.User.Participant); !ok {
			return forbidden("participant " + v.User.Participant + " does not exist")
		}
	}
	p := v.User.Role.Principal(pa)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &Answer{Status: http.StatusInternalServerError, Header: http.Header{}, Body: []byte(`{"status":500}`)}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(users.WithActor(r.Context(), v.Actor()), method, path, rd)
	if err != nil {
		return &Answer{Status: http.StatusInternalServerError, Header: http.Header{}, Body: []byte(`{"status":500}`)}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if tr := telemetry.FromContext(r.Context()); tr != nil && telemetry.ValidRequestID(tr.ID) {
		req.Header.Set(telemetry.RequestIDHeader, tr.ID)
	}
	req.RemoteAddr = r.RemoteAddr
	rec := &recorder{a: Answer{Header: http.Header{}}}
	c.API.ServeAs(rec, req, p, v.caller())
	if rec.a.Status == 0 {
		rec.a.Status = http.StatusOK
	}
	rec.a.Body = rec.buf.Bytes()
	return &rec.a
}

// Act makes a state-changing call as v's user (Call) and, if the API
// answers success, records who did it: action (a name of lower case
// letters, digits and '-', "participant-suspend") to target (what it
// acted on, "wallet-a") as a console-action mark, listed by GET
// /v1/console/actions. Calls of the console's users' own routes
// (/v1/console/…) are recorded by the API itself, naming the user, and
// not again here.
//
// An error means the API did the action but its record failed: say so
// to the user (the answer's success must not be shown as complete).
func (c *Console) Act(r *http.Request, v *Visit, action, target, method, path string, body any) (*Answer, error) {
	if !users.ValidAction(action) {
		return nil, fmt.Errorf("console: %q is not an action name", action)
	}
	a := c.Call(r, v, method, path, body)
	if !a.OK() || strings.HasPrefix(path, "/v1/console/") {
		return a, nil
	}
	if err := c.Users.Record(r.Context(), v.Actor(), action, target); err != nil {
		c.Log.ErrorContext(r.Context(), "console: an action succeeded but was not recorded", "action", action, "err", err)
		return a, err
	}
	return a, nil
}
