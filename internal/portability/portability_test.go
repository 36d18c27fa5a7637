package portability

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/seal"
	"github.com/hulian/hulian/internal/testbed"
)

var cny = money.MustCurrency("CNY")

// sender records callbacks and fails while down.
type sender struct {
	mu   sync.Mutex
	down bool
	got  []string // owner ids
	hits int
}

func (s *sender) Post(_ context.Context, p *participant.Participant, body []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits++
	if s.down {
		return nil, errors.New("down")
	}
	s.got = append(s.got, p.ID)
	return nil, nil
}

func (s *sender) delivered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

type fixture struct {
	bed   *testbed.Bed
	clock *testbed.Clock
	dir   *directory.Directory
	svc   *Service
	send  *sender
	ps    map[string]participant.Participant
}

func newFixture(t *testing.T, quota int) *fixture {
	t.Helper()
	clock := testbed.NewClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 0)
	bed := testbed.Open(t, testbed.Options{Now: clock.Now})
	key, err := seal.New([]byte(strings.Repeat("k", seal.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{bed: bed, clock: clock, send: &sender{}, ps: map[string]participant.Participant{}}
	ctx := context.Background()
	for _, id := range []string{"alpha", "beta", "gamma"} {
		p, _, err := bed.Registry.Create(ctx, participant.New{ID: id, Name: id, Kind: participant.Wallet, Currencies: []money.Currency{cny},
			CallbackURL: "https://" + id + ".example/hook", Acceptance: participant.Notify})
		if err != nil {
			t.Fatal(err)
		}
		f.ps[id] = p
	}
	f.dir = directory.New(bed.DB, directory.Options{Seal: key, MaxAliasesPerAccount: quota})
	t.Cleanup(func() { f.dir.Close() })
	f.svc, err = New(Config{Timeout: time.Hour}, Deps{DB: bed.DB, Directory: f.dir, Participants: bed.Registry, Sender: f.send,
		Render: func(c *Claim) ([]byte, error) { return json.Marshal(map[string]string{"id": c.ID}) }, Seal: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) register(t *testing.T, owner, value, account string) {
	t.Helper()
	_, _, err := f.dir.Register(context.Background(), directory.Party{Type: directory.WALLET, Value: value, Participant: owner,
		Name: "Zhang San", Account: account, Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) tick(t *testing.T) {
	t.Helper()
	if err := f.svc.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) owner(t *testing.T, value string) directory.Party {
	t.Helper()
	p, err := f.dir.Lookup(context.Background(), directory.WALLET, value)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileRefusals(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.register(t, "alpha", "w1", "a-1")
	req := Request{Name: "Zhang San", Account: "b-1"}
	if _, err := f.svc.File(ctx, f.ps["beta"], directory.WALLET, "w1", req); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		claimant string
		value    string
		req      Request
		want     error
	}{
		{"unknown alias", "beta", "nobody", req, directory.ErrNotFound},
		{"own alias", "alpha", "w1", req, ErrOwnAlias},
		{"pending already", "gamma", "w1", req, ErrPending},
		{"no name", "gamma", "w1", Request{Account: "x"}, ErrInvalid},
		{"long account", "gamma", "w1", Request{Name: "x", Account: strings.Repeat("9", 129)}, ErrInvalid},
		{"currency", "gamma", "w1", Request{Name: "x", Account: "x", Currency: money.MustCurrency("USD")}, ErrCurrency},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := f.svc.File(ctx, f.ps[c.claimant], directory.WALLET, c.value, c.req); !errors.Is(err, c.want) {
				t.Errorf("file: %v, want %v", err, c.want)
			}
		})
	}
}

func TestClaimOutcomes(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name       string
		act        func(f *fixture, c Claim) (Claim, error)
		wantStatus Status
		wantOwner  string
	}{
		{"confirm", func(f *fixture, c Claim) (Claim, error) { return f.svc.Confirm(ctx, "alpha", c.ID) }, Confirmed, "beta"},
		{"cancel", func(f *fixture, c Claim) (Claim, error) { return f.svc.Cancel(ctx, "alpha", c.ID) }, Cancelled, "alpha"},
		{"timeout", func(f *fixture, c Claim) (Claim, error) {
			f.clock.Advance(time.Hour)
			if err := f.svc.Tick(ctx); err != nil {
				return Claim{}, err
			}
			return f.svc.Get(ctx, c.ID)
		}, Expired, "beta"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 0)
			f.register(t, "alpha", "w1", "a-1")
			c, err := f.svc.File(ctx, f.ps["beta"], directory.WALLET, "w1", Request{Name: "Zhang Sanfeng", Account: "b-1"})
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != Pending || c.Owner != "alpha" || c.Claimant != "beta" || !c.ExpiresAt.Equal(c.CreatedAt.Add(time.Hour)) {
				t.Fatalf("filed %+v", c)
			}
			// Stored sealed.
			var name, account string
			if err := f.bed.DB.QueryRow(`SELECT name, account FROM party_claims WHERE id = $1`, c.ID).Scan(&name, &account); err != nil {
				t.Fatal(err)
			}
			if !seal.IsSealed(name) || !seal.IsSealed(account) {
				t.Errorf("claim stored in plain text: %q %q", name, account)
			}
			// Not yet expired: a tick only notifies.
			f.clock.Advance(time.Hour - time.Second)
			f.tick(t)
			if got := f.send.delivered(); len(got) != 1 || got[0] != "alpha" {
				t.Errorf("callbacks delivered to %v, want [alpha]", got)
			}
			got, err := tc.act(f, c)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.wantStatus || got.EndedAt.IsZero() {
				t.Errorf("claim after %s: %+v", tc.name, got)
			}
			p := f.owner(t, "w1")
			if p.Participant != tc.wantOwner {
				t.Errorf("alias owned by %s, want %s", p.Participant, tc.wantOwner)
			}
			if tc.wantOwner == "beta" && (p.Name != "Zhang Sanfeng" || p.Account != "b-1") {
				t.Errorf("moved party %+v", p)
			}
			// Answers after the end are refused; a later tick changes nothing.
			if _, err := f.svc.Cancel(ctx, "alpha", c.ID); !errors.Is(err, ErrEnded) {
				t.Errorf("cancel after the end: %v", err)
			}
			f.clock.Advance(time.Hour)
			f.tick(t)
			if again, _ := f.svc.Get(ctx, c.ID); again.Status != tc.wantStatus || again.Moved != (tc.wantOwner == "beta") {
				t.Errorf("claim later: %+v", again)
			}
			// A new claim may follow.
			if _, err := f.svc.File(ctx, f.ps["gamma"], directory.WALLET, "w1", Request{Name: "x", Account: "g"}); err != nil {
				t.Errorf("file after the end: %v", err)
			}
		})
	}
}

func TestAnswerByOthers(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.register(t, "alpha", "w1", "a-1")
	c, err := f.svc.File(ctx, f.ps["beta"], directory.WALLET, "w1", Request{Name: "x", Account: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Confirm(ctx, "beta", c.ID); !errors.Is(err, ErrNotOwner) {
		t.Errorf("confirm by the claimant: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, "gamma", c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("confirm by a stranger: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, "alpha", "no-such-claim"); !errors.Is(err, ErrNotFound) {
		t.Errorf("confirm of no claim: %v", err)
	}
}

func TestMoveFailsOnQuota(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	f.register(t, "alpha", "w1", "a-1")
	f.register(t, "beta", "w2", "b-1")
	c, err := f.svc.File(ctx, f.ps["beta"], directory.WALLET, "w1", Request{Name: "x", Account: "b-1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Confirm(ctx, "alpha", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Failed || got.Reason != "alias-quota-exceeded" || got.Moved {
		t.Errorf("claim past the claimant's quota: %+v", got)
	}
	if p := f.owner(t, "w1"); p.Participant != "alpha" {
		t.Errorf("alias moved past the quota: %+v", p)
	}
}

func TestNotifyRetries(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.register(t, "alpha", "w1", "a-1")
	f.send.down = true
	c, err := f.svc.File(ctx, f.ps["beta"], directory.WALLET, "w1", Request{Name: "x", Account: "b"})
	if err != nil {
		t.Fatal(err)
	}
	f.tick(t) // attempt 1 fails: next in 1 s
	f.tick(t) // not due
	f.clock.Advance(time.Second)
	f.tick(t) // attempt 2 fails: next in 2 s
	f.clock.Advance(time.Second)
	f.tick(t) // not due
	if f.send.hits != 2 {
		t.Errorf("%d attempts, want 2", f.send.hits)
	}
	f.send.mu.Lock()
	f.send.down = false
	f.send.mu.Unlock()
	// A new service on the same database — a restart — picks it up.
	svc, err := New(Config{Timeout: time.Hour}, f.svc.d)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if err := svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.send.delivered(); len(got) != 1 {
		t.Errorf("delivered %v after the restart", got)
	}
	f.clock.Advance(time.Minute)
	f.tick(t)
	if f.send.hits != 3 {
		t.Errorf("%d attempts after delivery, want 3", f.send.hits)
	}
	if got, _ := svc.Get(ctx, c.ID); !got.Notified {
		t.Errorf("claim not marked notified: %+v", got)
	}
}

func TestClaimantClosed(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.register(t, "alpha", "w1", "a-1")
	c, err := f.svc.File(ctx, f.ps["beta"], directory.WALLET, "w1", Request{Name: "x", Account: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.bed.Registry.Close(ctx, "beta", func(context.Context, participant.Participant) error { return nil }); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	f.tick(t)
	got, err := f.svc.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Failed || got.Reason != "participant-closed" || got.Moved {
		t.Errorf("claim of a closed claimant: %+v", got)
	}
	if p := f.owner(t, "w1"); p.Participant != "alpha" {
		t.Errorf("alias moved to a closed claimant: %+v", p)
	}
}

// TestOwnerNeverNotified: a claim whose callback never reached the owner
// does not move the alias when it expires: silence from an owner that
// never heard of the claim is no consent.
func TestOwnerNeverNotified(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.register(t, "alpha", "w1", "a-1")
	f.send.down = true
	c, err := f.svc.File(ctx, f.ps["beta"], directory.WALLET, "w1", Request{Name: "x", Account: "b"})
	if err != nil {
		t.Fatal(err)
	}
	f.tick(t)
	f.clock.Advance(time.Hour)
	f.tick(t)
	got, err := f.svc.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Failed || got.Reason != "owner-not-notified" || got.Moved {
		t.Errorf("claim the owner never heard of: %+v", got)
	}
	if p := f.owner(t, "w1"); p.Participant != "alpha" {
		t.Errorf("alias moved without the owner's knowledge: %+v", p)
	}
}

// TestClaimantSuspended: a suspended claimant gets no alias.
func TestClaimantSuspended(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.register(t, "alpha", "w1", "a-1")
	c, err := f.svc.File(ctx, f.ps["beta"], directory.WALLET, "w1", Request{Name: "x", Account: "b"})
	if err != nil {
		t.Fatal(err)
	}
	f.tick(t) // delivered
	st := participant.Suspended
	if _, err := f.bed.Registry.Apply(ctx, "beta", participant.Update{Status: &st}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Confirm(ctx, "alpha", c.ID); err != nil {
		t.Fatal(err)
	}
	f.tick(t)
	if got, _ := f.svc.Get(ctx, c.ID); got.Status != Failed || got.Reason != "participant-suspended" || got.Moved {
		t.Errorf("claim of a suspended claimant: %+v", got)
	}
	if p := f.owner(t, "w1"); p.Participant != "alpha" {
		t.Errorf("alias moved to a suspended claimant: %+v", p)
	}
}
