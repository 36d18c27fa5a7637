package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

// Setup constants. Amounts are decimal strings in CNY, as the API takes
// them; nothing here is computed in floating point.
const (
	currency = "CNY"
	// prefund is each participant's deposit: a trillion yuan covers any
	// run (300,000 transfers/s of at most 100 + 5 yuan for an hour is
	// 1.1e11), so that insufficient-funds only ever means a bug.
	prefund = "1000000000000.00"
	// partyBatch is the most parties per POST /v1/parties:batch.
	partyBatch = 1000
)

// party is one of the run's participants.
type party struct {
	id      string
	auth    string  // "Bearer <api key>"
	aliases []int32 // indices in fleet.aliases
}

// alias is a registered phone number, +8613 and nine digits, kept as
// those digits: 8 bytes an alias rather than a string and a URL, so that
// a run with 10 M aliases does not weigh on a switch in its process.
type alias struct {
	num   uint32 // the nine digits after +8613
	owner uint8  // index in fleet.parties
}

// appendValue appends the alias's E.164 form.
func (a *alias) appendValue(b []byte) []byte {
	b = append(b, "+8613"...)
	var d [9]byte
	n := a.num
	for i := 8; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:]...)
}

// value returns the alias's E.164 form.
func (a *alias) value() string { return string(a.appendValue(nil)) }

// fleet is what a run set up on the switch.
type fleet struct {
	runID   string
	parties []*party
	aliases []alias
	dropped int // aliases an earlier run had taken
	// fx is the FX provider and HKD wallet of a CrossBorder run.
	fx *fxSide
}

// names are the display names of bench users: Chinese, so that the
// switch's name masking sees multi-byte text as in production.
var names = []string{"张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴婷", "徐明", "孙丽", "马超", "朱红", "胡斌", "郭强"}

// setup creates the run's participants (ids unique to the run, so that
// runs can repeat against one switch), funds them, and registers the
// aliases in parallel batches.
func (g *gen) setup(ctx context.Context) (*fleet, error) {
	f := &fleet{runID: randomTag()}
	op := "Bearer " + g.cfg.Token
	for i := range g.cfg.Participants {
		id := "bench-" + f.runID + "-" + string(rune('a'+i))
		var p wire.Participant
		err := g.call(ctx, "POST", "/v1/participants", op, wire.NewParticipant{
			ID: id, Name: "Bench wallet " + strconv.Itoa(i+1), Kind: "wallet", Currencies: []string{currency},
		}, &p)
		if err != nil {
			return nil, fmt.Errorf("create participant %s: %w", id, err)
		}
		if p.APIKey == "" {
			return nil, fmt.Errorf("create participant %s: no apiKey in the answer", id)
		}
		f.parties = append(f.parties, &party{id: id, auth: "Bearer " + p.APIKey})
		err = g.call(ctx, "POST", "/v1/participants/"+id+"/funds", op, wire.Funds{
			Currency: currency, Amount: prefund, Direction: "deposit"}, nil)
		if err != nil {
			return nil, fmt.Errorf("fund participant %s: %w", id, err)
		}
	}
	if g.cfg.SetFees {
		err := g.call(ctx, "PUT", "/v1/fees/"+currency, op,
			wire.Fees{Fixed: "0.10", Rate: "0.10", Min: "0.10", Max: "5.00"}, nil)
		if err != nil {
			return nil, fmt.Errorf("set fees: %w", err)
		}
	}
	if err := g.registerAliases(ctx, f); err != nil {
		return nil, err
	}
	for _, p := range f.parties {
		if len(p.aliases) == 0 {
			return nil, fmt.Errorf("participant %s has no alias left to be paid at", p.id)
		}
	}
	if g.cfg.Mode == CrossBorder {
		if err := g.setupFX(ctx, f); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// registerAliases registers cfg.Aliases random mobile numbers (+86 13x
// xxxx xxxx, a billion of them, so that runs rarely collide), dealt to
// the participants in turn, 1000 per request on several connections.
// A number an earlier run registered is dropped from this run's set.
func (g *gen) registerAliases(ctx context.Context, f *fleet) error {
	n := g.cfg.Aliases
	seen := make(map[uint32]struct{}, n)
	byOwner := make([][]uint32, len(f.parties))
	for i := 0; i < n; {
		v := mrand.Uint32N(1_000_000_000)
		if _, dup := seen[v]; dup {
			continue
		}
		seen[v] = struct{}{}
		o := i % len(f.parties)
		byOwner[o] = append(byOwner[o], v)
		i++
	}
	seen = nil
	f.aliases = make([]alias, 0, n)
	var jobs []regJob
	for o, vs := range byOwner {
		jobs = appendJobs(jobs, f.parties[o], o, vs)
	}
	return g.registerJobs(ctx, jobs, &cnNumbers, func(j regJob, kept []uint32, dropped int) {
		f.dropped += dropped
		for _, v := range kept {
			f.parties[j.owner].aliases = append(f.parties[j.owner].aliases, int32(len(f.aliases)))
			f.aliases = append(f.aliases, alias{num: v, owner: uint8(j.owner)})
		}
	})
}

// regJob is one request's worth of numbers to register for one party.
type regJob struct {
	p      *party
	owner  int // index in fleet.parties; -1 for the HKD wallet
	values []uint32
}

// appendJobs cuts p's numbers vs into requests of at most partyBatch.
func appendJobs(jobs []regJob, p *party, owner int, vs []uint32) []regJob {
	for len(vs) > 0 {
		k := min(len(vs), partyBatch)
		jobs = append(jobs, regJob{p, owner, vs[:k]})
		vs = vs[k:]
	}
	return jobs
}

// registerJobs registers the jobs' numbers on several connections and
// calls done, one call at a time, with each job's numbers registered
// and how many an earlier run had taken.
func (g *gen) registerJobs(ctx context.Context, jobs []regJob, nb *numbering, done func(j regJob, kept []uint32, dropped int)) error {
	var (
		mu      sync.Mutex
		errs    []error
		next    = make(chan regJob)
		wg      sync.WaitGroup
		workers = min(8, g.cfg.Concurrency, len(jobs))
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for j := range next {
				kept, dropped, err := g.registerBatch(ctx, j.p, j.values, nb)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
					cancel()
				}
				done(j, kept, dropped)
				mu.Unlock()
			}
		})
	}
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("register aliases: %w", errs[0])
	}
	return ctx.Err()
}

// numbering is a kind of phone number a run registers: how a number
// kept as a uint32 is written, the account its owner files it under,
// and the currency it is paid in.
type numbering struct {
	value    func(n uint32) string
	account  func(value string) string
	currency string
}

// cnNumbers are the CNY participants' +86 13x numbers.
var cnNumbers = numbering{
	value:    func(n uint32) string { return (&alias{num: n}).value() },
	account:  func(v string) string { return "u-" + v[3:] },
	currency: currency,
}

// registerBatch registers one participant's numbers in one request.
func (g *gen) registerBatch(ctx context.Context, p *party, nums []uint32, nb *numbering) (kept []uint32, dropped int, err error) {
	batch := wire.PartyBatch{Parties: make([]wire.NewParty, len(nums))}
	values := make([]string, len(nums))
	for i, n := range nums {
		v := nb.value(n)
		values[i] = v
		batch.Parties[i] = wire.NewParty{Type: "MSISDN", Value: v, Name: names[mrand.IntN(len(names))],
			Account: nb.account(v), Currency: nb.currency}
	}
	var res wire.PartyBatchResult
	if err := g.call(ctx, "POST", "/v1/parties:batch", p.auth, batch, &res); err != nil {
		return nil, 0, err
	}
	if len(res.Results) != len(values) {
		return nil, 0, fmt.Errorf("%d results for %d parties", len(res.Results), len(values))
	}
	for i, r := range res.Results {
		switch {
		case r.Status == http.StatusCreated || r.Status == http.StatusOK:
			if r.Party == nil || r.Party.Value != values[i] {
				return nil, 0, fmt.Errorf("party %s: answered as %+v", values[i], r.Party)
			}
			kept = append(kept, nums[i])
		case r.Status == http.StatusConflict:
			dropped++
		case r.Error != nil:
			return nil, 0, fmt.Errorf("party %s: %d %s: %s", values[i], r.Status, r.Error.Type, r.Error.Detail)
		default:
			return nil, 0, fmt.Errorf("party %s: status %d", values[i], r.Status)
		}
	}
	return kept, dropped, nil
}

// call is a setup request: JSON in, JSON out, the reflective way, which
// is fine outside the measured loop. A setup respects the switch's rate
// limits as a participant must: refused with 429, it waits Retry-After
// and tries again (a batch of a thousand aliases costs a thousand
// requests of the participant's rate).
func (g *gen) call(ctx context.Context, method, path, auth string, in, out any) error {
	var enc []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		enc = b
	}
	for {
		err := g.call1(ctx, method, path, auth, enc, in != nil, out)
		var wait errRetry
		if !errors.As(err, &wait) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(wait)):
		}
	}
}

// errRetry is a 429 answer: wait that long and try again.
type errRetry time.Duration

func (e errRetry) Error() string { return "rate-limited: retry after " + time.Duration(e).String() }

// statusError is a setup request's answer other than 2xx.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// call1 is one attempt of call.
func (g *gen) call1(ctx context.Context, method, path, auth string, enc []byte, hasBody bool, out any) error {
	var body io.Reader
	if hasBody {
		body = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs < 1 {
			secs = 1
		}
		return errRetry(time.Duration(min(secs, 60)) * time.Second)
	}
	if resp.StatusCode/100 != 2 {
		var p wire.Problem
		if json.Unmarshal(b, &p) == nil && p.Type != "" {
			if resp.StatusCode == http.StatusUnauthorized && auth == "Bearer "+g.cfg.Token {
				return errors.New("the switch refused the operator token (--token or HULIAN_ADMIN_TOKEN)")
			}
			return &statusError{resp.StatusCode, fmt.Sprintf("%s %s: %d %s: %s", method, path, resp.StatusCode, p.Type, p.Detail)}
		}
		return &statusError{resp.StatusCode, fmt.Sprintf("%s %s: status %d", method, path, resp.StatusCode)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: answer: %w", method, path, err)
		}
	}
	return nil
}

// randomTag returns 8 random hex digits, to tell one run's names from
// another's.
func randomTag() string {
	var raw [4]byte
	rand.Read(raw[:]) // never fails: it crashes the program rather than return an error
	return hex.EncodeToString(raw[:])
}
