package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

// switchClient calls the switch's API v1 with the participant's key. It
// returns every answer as it came, since the cases judge refusals too.
type switchClient struct {
	base, token string
	hc          *http.Client
}

// apiAnswer is the switch's answer: its status and, for a refusal, its
// problem document.
type apiAnswer struct {
	status  int
	problem wire.Problem
}

// kind is the problem type's last segment ("invalid-request").
func (a apiAnswer) kind() string {
	t := a.problem.Type
	return t[strings.LastIndexByte(t, '/')+1:]
}

// String says what the switch answered, for a failure's reason.
func (a apiAnswer) String() string {
	if a.status/100 == 2 {
		return fmt.Sprintf("%d", a.status)
	}
	s := fmt.Sprintf("%d %s", a.status, a.kind())
	if a.problem.Detail != "" {
		s += " (" + a.problem.Detail + ")"
	}
	return s
}

// answerMax bounds what the suite reads of the switch's answers.
const answerMax = 4 << 20

// do sends one request and decodes a 2xx answer into out (if not nil).
// The error is a transport failure or an unreadable answer; a refusal is
// an answer.
func (c *switchClient) do(ctx context.Context, method, path string, in, out any) (apiAnswer, error) {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return apiAnswer{}, fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return apiAnswer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return apiAnswer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, answerMax))
	if err != nil {
		return apiAnswer{}, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	a := apiAnswer{status: resp.StatusCode}
	if resp.StatusCode/100 != 2 {
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/problem+json" || mt == "application/json" {
			_ = json.Unmarshal(b, &a.problem)
		}
		return a, nil
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return a, fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return a, nil
}

func esc(s string) string { return url.PathEscape(s) }

// participant reads the participant id.
func (c *switchClient) participant(ctx context.Context, id string) (wire.Participant, apiAnswer, error) {
	var p wire.Participant
	a, err := c.do(ctx, http.MethodGet, "/v1/participants/"+esc(id), nil, &p)
	return p, a, err
}

// registerParty registers an alias.
func (c *switchClient) registerParty(ctx context.Context, np wire.NewParty) (wire.Party, apiAnswer, error) {
	var p wire.Party
	a, err := c.do(ctx, http.MethodPost, "/v1/parties", np, &p)
	return p, a, err
}

// deleteParty deletes an alias.
func (c *switchClient) deleteParty(ctx context.Context, typ, value string) (apiAnswer, error) {
	return c.do(ctx, http.MethodDelete, "/v1/parties/"+esc(typ)+"/"+esc(value), nil, nil)
}

// lookup resolves an alias.
func (c *switchClient) lookup(ctx context.Context, typ, value string) (wire.PartyLookup, apiAnswer, error) {
	var l wire.PartyLookup
	a, err := c.do(ctx, http.MethodGet, "/v1/parties/"+esc(typ)+"/"+esc(value), nil, &l)
	return l, a, err
}

// transfers reads the first page of the participant's transfers.
func (c *switchClient) transfers(ctx context.Context, limit int) (wire.Transfers, apiAnswer, error) {
	var ts wire.Transfers
	a, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/transfers?limit=%d", limit), nil, &ts)
	return ts, a, err
}
