// Package lookups owns what keeps the alias directory from being read
// as a phone book: each participant's budget of lookups, the budget of
// misses of each of its end users, the count of its lookups found and
// not found, and the alert raised when a participant's lookups miss too
// often, as a scan of made-up numbers does.
//
// A participant's budget is a token bucket of its own, apart from the
// API's general rate limit: a lookup takes one token before it is made,
// and a lookup that finds nothing takes the rest of the miss cost once
// the answer is known. That rest is charged even when the bucket has
// not got it (the bucket goes into debt), so that the lookups after a
// run of misses wait: as Brazil's Pix directory does, a scan costs
// twenty times what honest lookups cost. A participant may also name
// the end user it looks up for (the Hulian-End-User header); each such
// user has a bucket of misses per minute, checked before the lookup.
//
// The hot path (a found lookup) is a map read under a read lock, the
// limiter, and a few atomic adds: no allocation, no database write.
package lookups

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of Config.
const (
	DefaultRate      = 1000 // tokens per second per participant
	DefaultBurst     = 2000
	DefaultMissCost  = 20 // tokens a lookup that finds nothing costs in all
	DefaultUserRate  = 10 // misses per minute per end user
	DefaultMissAlert = 0.5
	DefaultWindow    = 200 // lookups
	DefaultUsersMax  = 100_000
)

// Config tunes a Guard. EnsureDefaults states every default; Validate
// refuses what is out of range.
type Config struct {
	// Rate is the tokens per second a participant's bucket gains, and
	// Burst how many it holds.
	Rate  float64
	Burst int
	// MissCost is the tokens a lookup that finds nothing costs in all (a
	// found one costs 1); at most Burst.
	MissCost int
	// UserRate is how many misses an end user named by the participant
	// may have per minute (also its burst).
	UserRate int
	// MissAlert is the not-found ratio of a participant's lookups above
	// which an operator alert is raised; it is measured over windows of
	// Window consecutive lookups of the participant (tumbling, not
	// sliding: each window is judged once, when it is full).
	MissAlert float64
	Window    int
	// UsersMax bounds the end users' buckets held, over all
	// participants, and half of it each participant's; beyond either,
	// idle ones are dropped, then any — of the participant that holds
	// the most, so that one flooding made-up end user ids drops its own.
	UsersMax int
}

// EnsureDefaults fills the fields left zero with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.MissCost == 0 {
		c.MissCost = DefaultMissCost
	}
	if c.UserRate == 0 {
		c.UserRate = DefaultUserRate
	}
	if c.MissAlert == 0 {
		c.MissAlert = DefaultMissAlert
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.UsersMax == 0 {
		c.UsersMax = DefaultUsersMax
	}
}

// Validate reports the first field out of range.
func (c *Config) Validate() error {
	switch {
	case !(c.Rate > 0) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("lookup rate %v: must be a positive number of tokens per second", c.Rate)
	case c.Burst < 1:
		return fmt.Errorf("lookup burst %d: must be at least 1", c.Burst)
	case c.MissCost < 1 || c.MissCost > c.Burst:
		return fmt.Errorf("lookup miss cost %d: must be 1 to the lookup burst (%d)", c.MissCost, c.Burst)
	case c.UserRate < 1:
		return fmt.Errorf("lookup user rate %d: must be at least 1 miss per minute", c.UserRate)
	case !(c.MissAlert > 0 && c.MissAlert <= 1):
		return fmt.Errorf("lookup miss alert %v: must be a ratio above 0, at most 1", c.MissAlert)
	case c.Window < 1 || c.Window > math.MaxUint32:
		return fmt.Errorf("lookup alert window %d: must be 1 to %d lookups", c.Window, uint32(math.MaxUint32))
	case c.UsersMax < 1:
		return fmt.Errorf("lookup end users %d: must be at least 1", c.UsersMax)
	}
	return nil
}

// AlertEvery is how often at most a participant's scraping is alerted.
const AlertEvery = time.Hour

// KindScraping is the kind of the alert a participant's misses raise.
const KindScraping = "lookup-scraping"

// Alert says that a participant's lookups missed too often: NotFound of
// Lookups in the window that ended at At.
type Alert struct {
	// Seq is the alert's number once recorded.
	Seq int64
	// Kind is KindScraping.
	Kind              string
	Participant       string
	At                time.Time
	Lookups, NotFound int64
}

// Found is how many of the window's lookups found an alias.
func (a *Alert) Found() int64 { return a.Lookups - a.NotFound }

// Ratio is the window's not-found ratio.
func (a *Alert) Ratio() float64 {
	if a.Lookups == 0 {
		return 0
	}
	return float64(a.NotFound) / float64(a.Lookups)
}

// Stat is a participant's lookups since the start.
type Stat struct {
	Participant     string
	Found, NotFound int64
}

// Guard holds the budgets and counters. It is safe for concurrent use.
type Guard struct {
	cfg   Config
	now   func() time.Time
	alert func(Alert)

	mu    sync.RWMutex
	parts map[string]*part

	// umu guards the end users' miss buckets (part.users) and nusers,
	// how many there are.
	umu    sync.Mutex
	nusers int
	// every is the time one miss takes to come back.
	every int64
}

// part is one participant's budget and counters.
type part struct {
	lim             *rate.Limiter
	found, notFound atomic.Int64
	// window holds the current window's misses (high 32 bits) and
	// lookups (low 32 bits), so that one atomic add counts both.
	window atomic.Uint64
	// alerted is when the last alert was raised (unix nanoseconds).
	alerted atomic.Int64
	// users are its end users' miss buckets, as GCRA: the time at which
	// the bucket is full again (unix nanoseconds). A bucket at or before
	// now is full and need not be kept. Guarded by Guard.umu.
	users map[string]int64
}

// New returns a guard with cfg (after EnsureDefaults) that reads the
// time from now (nil: time.Now) and calls alert, when not nil, with each
// alert it raises: at most once per participant per AlertEvery, on the
// goroutine of the lookup that ended the window (so alert may write it
// down, once an hour, but must not block for long).
func New(cfg Config, now func() time.Time, alert func(Alert)) (*Guard, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("lookups: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Guard{cfg: cfg, now: now, alert: alert, parts: map[string]*part{},
		every: int64(time.Minute) / int64(cfg.UserRate)}, nil
}

// errEndUser refuses a Hulian-End-User value.
var errEndUser = errors.New("end user id must be 1 to 128 printable ASCII characters")

// EndUserMax is the longest end user id accepted, in bytes.
const EndUserMax = 128

// CheckEndUser reports whether id is an acceptable end user id: 1 to
// EndUserMax printable ASCII characters (it is a map key held in memory
// and written to logs, never shown to anyone else).
func CheckEndUser(id string) error {
	if id == "" || len(id) > EndUserMax {
		return errEndUser
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return errEndUser
		}
	}
	return nil
}

// Begin asks whether participant may look up an alias now, for endUser
// (empty: none named). If not, it returns how long to wait: the end
// user's bucket is checked first, then the participant's, and a refused
// lookup costs nothing. A lookup made is ended by Done once its answer
// is known; one that failed (neither found nor not found) is not, and
// cost its one token.
func (g *Guard) Begin(participant, endUser string) (ok bool, retryAfter time.Duration) {
	now := g.now()
	if endUser != "" {
		if d := g.userWait(participant, endUser, now.UnixNano()); d > 0 {
			return false, d
		}
	}
	p := g.part(participant)
	if p.lim.AllowN(now, 1) {
		return true, 0
	}
	deficit := 1 - p.lim.TokensAt(now)
	return false, time.Duration(deficit / g.cfg.Rate * float64(time.Second))
}

// Owed returns how long participant must wait until its budget is out
// of debt, 0 if it is not: payments and quotes resolve aliases too, and
// a participant whose misses emptied its budget may not go on probing
// the directory through them.
func (g *Guard) Owed(participant string) time.Duration {
	now := g.now()
	p := g.part(participant)
	if t := p.lim.TokensAt(now); t < 0 {
		return time.Duration(-t / g.cfg.Rate * float64(time.Second))
	}
	return 0
}

// Missed counts a payment's payee alias that was not found like a
// lookup that found nothing, and charges its full cost.
func (g *Guard) Missed(participant, endUser string) {
	g.part(participant).lim.ReserveN(g.now(), 1)
	g.Done(participant, endUser, false)
}

// Done ends a lookup begun: it counts it, charges a miss the rest of its
// cost (to the participant, and one miss to the end user), and raises an
// alert when the window it ends missed too often.
func (g *Guard) Done(participant, endUser string, found bool) {
	now := g.now()
	p := g.part(participant)
	var miss uint64
	if found {
		p.found.Add(1)
	} else {
		miss = 1
		p.notFound.Add(1)
		if extra := g.cfg.MissCost - 1; extra > 0 {
			// Not cancelled: the bucket goes into debt, and the
			// participant's next lookups wait for it (extra ≤ burst,
			// so the reservation is always granted).
			p.lim.ReserveN(now, extra)
		}
		if endUser != "" {
			g.userMiss(participant, endUser, now.UnixNano())
		}
	}
	v := p.window.Add(miss<<32 | 1)
	if uint32(v) != uint32(g.cfg.Window) {
		return
	}
	// This lookup filled the window: it alone sees that count. Take
	// the window's counts away, leaving those of lookups since.
	p.window.Add(-v)
	misses := int64(v >> 32)
	if float64(misses) <= g.cfg.MissAlert*float64(g.cfg.Window) {
		return
	}
	last := p.alerted.Load()
	if last != 0 && now.UnixNano()-last < int64(AlertEvery) || !p.alerted.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if g.alert != nil {
		g.alert(Alert{Kind: KindScraping, Participant: participant, At: now.UTC(), Lookups: int64(g.cfg.Window), NotFound: misses})
	}
}

// part returns participant's budget, made at its first lookup. The
// participants are the registry's, so the map is bounded by it.
func (g *Guard) part(participant string) *part {
	g.mu.RLock()
	p := g.parts[participant]
	g.mu.RUnlock()
	if p != nil {
		return p
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if p = g.parts[participant]; p == nil {
		p = &part{lim: rate.NewLimiter(rate.Limit(g.cfg.Rate), g.cfg.Burst)}
		g.parts[participant] = p
	}
	return p
}

// userWait returns how long the end user must wait for a miss, 0 if it
// has one.
func (g *Guard) userWait(participant, endUser string, now int64) time.Duration {
	p := g.part(participant)
	g.umu.Lock()
	full, ok := p.users[endUser]
	g.umu.Unlock()
	if !ok {
		return 0
	}
	// The bucket holds a miss while it lacks at most UserRate-1 of
	// them: full - now ≤ (UserRate-1)·every.
	wait := full - now - int64(g.cfg.UserRate-1)*g.every
	if wait <= 0 {
		return 0
	}
	return time.Duration(wait)
}

// userMiss takes one miss from the end user's bucket.
func (g *Guard) userMiss(participant, endUser string, now int64) {
	p := g.part(participant)
	g.umu.Lock()
	defer g.umu.Unlock()
	full, ok := p.users[endUser]
	if !ok {
		if len(p.users) >= g.partUsersMax() {
			g.evict(p, now)
		}
		if g.nusers >= g.cfg.UsersMax {
			g.evict(g.largest(), now)
		}
		if p.users == nil {
			p.users = map[string]int64{}
		}
		g.nusers++
	}
	p.users[endUser] = max(full, now) + g.every
}

// partUsersMax bounds one participant's end users' buckets.
func (g *Guard) partUsersMax() int { return max(g.cfg.UsersMax/2, 1) }

// largest returns the participant holding the most end users' buckets.
// The caller holds umu.
func (g *Guard) largest() *part {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var most *part
	for _, p := range g.parts {
		if most == nil || len(p.users) > len(most.users) {
			most = p
		}
	}
	return most
}

// evict makes room in p's end users' buckets: it drops the full ones,
// and if that frees less than an eighth of the participant's cap, any
// others until it has (map order is random), so that a sweep happens at
// most once per that many new end users. A dropped bucket that was not
// full forgets the end user's misses: under a flood of made-up end user
// ids that is the price of bounded memory, paid by the participant that
// floods, and its own budget still holds. The caller holds umu.
func (g *Guard) evict(p *part, now int64) {
	before := len(p.users)
	for k, full := range p.users {
		if full <= now {
			delete(p.users, k)
		}
	}
	room := max(g.partUsersMax()/8, 1)
	for k := range p.users {
		if before-len(p.users) >= room {
			break
		}
		delete(p.users, k)
	}
	g.nusers -= before - len(p.users)
}

// EndUsers returns how many end users' buckets are held.
func (g *Guard) EndUsers() int {
	g.umu.Lock()
	defer g.umu.Unlock()
	return g.nusers
}

// Stats returns each participant's lookups since the start, by
// participant id.
func (g *Guard) Stats() []Stat {
	g.mu.RLock()
	out := make([]Stat, 0, len(g.parts))
	for id, p := range g.parts {
		out = append(out, Stat{Participant: id, Found: p.found.Load(), NotFound: p.notFound.Load()})
	}
	g.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Participant < out[j].Participant })
	return out
}

// RetryAfter is the whole seconds of a Retry-After header for d: at
// least 1, rounded up.
func RetryAfter(d time.Duration) int64 {
	return max(1, int64((d+time.Second-1)/time.Second))
}
