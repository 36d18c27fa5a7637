package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hulian/hulian/internal/cluster"
	"github.com/hulian/hulian/internal/store/postgres"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

// Short enough for a quick package, long enough for a loaded 2-core
// machine under -race.
const (
	testRenew = 50 * time.Millisecond
	testTTL   = 300 * time.Millisecond
	// testDeadline is how long after its last renewal started a leader
	// gives up by its own clock.
	testDeadline = testTTL - testRenew/2
)

// schemaDSN returns a fresh database with the store's migrations applied.
func schemaDSN(t *testing.T) string {
	t.Helper()
	dsn := pgtest.DSN(t)
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// node is a Lease whose Run a test can stop and start again.
type node struct {
	*cluster.Lease
	name string
	stop context.CancelFunc
	done chan struct{}
}

// start opens a Lease named name on dsn and runs it until the test ends.
func start(t *testing.T, dsn, name string) *node {
	t.Helper()
	l, err := cluster.Open(context.Background(), dsn, cluster.Config{
		Node: name, Addr: name + ".test:8080", Renew: testRenew, TTL: testTTL,
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{Lease: l, name: name}
	n.run()
	t.Cleanup(func() {
		n.halt()
		n.Close()
	})
	return n
}

func (n *node) run() {
	ctx, cancel := context.WithCancel(context.Background())
	n.stop, n.done = cancel, make(chan struct{})
	go func() {
		defer close(n.done)
		n.Run(ctx)
	}()
}

// halt stops Run, as a crash would, without releasing the lease.
func (n *node) halt() {
	n.stop()
	<-n.done
}

// waitFor polls cond every millisecond and returns how long it took to
// hold, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	t0 := time.Now()
	for !cond() {
		if time.Since(t0) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(t0)
}

func leads(n *node) func() bool {
	return func() bool { _, ok := n.Leading(); return ok }
}

// follows says whether n knows lead as the leader with epoch.
func follows(n *node, lead *node, epoch int64) func() bool {
	return func() bool {
		ld, ok := n.Leader()
		return ok && ld.Node == lead.name && ld.Addr == lead.name+".test:8080" && ld.Epoch == epoch
	}
}

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// TestExactlyOneLeader: three nodes, each behind its own proxy, while the
// leader is cut off for a while (shorter and longer than the lease),
// loses its connections, or stops; never do two nodes lead at once, and
// every epoch has one holder.
func TestExactlyOneLeader(t *testing.T) {
	dsn := schemaDSN(t)
	seed := time.Now().UnixNano()
	defer func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	}()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	var nodes []*node
	var proxies []*proxy
	for i := range 3 {
		p, pdsn := newProxy(t, dsn)
		proxies = append(proxies, p)
		nodes = append(nodes, start(t, pdsn, fmt.Sprintf("n%d", i)))
	}
	leader := func() int {
		for i, n := range nodes {
			if _, ok := n.Leading(); ok {
				return i
			}
		}
		return -1
	}

	const span = 4 * time.Second
	stop := make(chan struct{})
	churned := make(chan map[string]int)
	go func() {
		acts := map[string]int{}
		defer func() { churned <- acts }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(100+rng.IntN(300)) * time.Millisecond):
			}
			i := leader()
			if i < 0 {
				continue
			}
			switch rng.IntN(3) {
			case 0:
				d := time.Duration(100+rng.IntN(600)) * time.Millisecond
				acts["pause"]++
				proxies[i].pause()
				time.Sleep(d)
				proxies[i].resume()
			case 1:
				acts["reset"]++
				proxies[i].cut(false)
			default:
				acts["stop"]++
				nodes[i].halt()
				time.Sleep(400 * time.Millisecond)
				nodes[i].run()
			}
		}
	}()

	holder := map[int64]string{}
	var samples, led, skipped int
	var top int64
	t0 := time.Now()
	for time.Since(t0) < span {
		s0 := time.Now()
		var who []string
		for _, n := range nodes {
			e, ok := n.Leading()
			if !ok {
				continue
			}
			who = append(who, fmt.Sprintf("%s@%d", n.name, e))
			if h, ok := holder[e]; ok && h != n.name {
				t.Errorf("epoch %d held by %s and %s", e, h, n.name)
			}
			holder[e] = n.name
			// Samples run in order: an older epoch seen after a newer one
			// means the old leader still led after the new one took over.
			if e < top {
				t.Errorf("%s leads with epoch %d after epoch %d was seen leading", n.name, e, top)
			}
			top = max(top, e)
		}
		gap := time.Since(s0)
		samples++
		switch {
		case len(who) > 1 && gap < testRenew/4:
			t.Errorf("two leaders in one sample taken in %v: %v", gap, who)
		case len(who) > 1:
			skipped++ // too slow a sample to tell
		case len(who) == 1:
			led++
		}
		time.Sleep(500 * time.Microsecond)
	}
	close(stop)
	acts := <-churned
	for _, p := range proxies {
		p.resume()
	}
	waitFor(t, 3*time.Second, "a leader after the churn", func() bool { return leader() >= 0 })
	t.Logf("%d samples over %v, %.0f%% with a leader, %d too slow to judge; epochs 1–%d; churn %v",
		samples, span, 100*float64(led)/float64(samples), skipped, top, acts)
	if len(holder) < 2 {
		t.Errorf("only %d epochs seen: the churn did not move the lease", len(holder))
	}
}

// TestTakeover: a leader that stops (as a crash) is replaced once the
// lease lapses; one that releases is replaced at the follower's next
// tick, and never leads again.
func TestTakeover(t *testing.T) {
	tests := []struct {
		name     string
		step     func(t *testing.T, n *node)
		min, max time.Duration
	}{
		{"run stopped", func(t *testing.T, n *node) { n.halt() }, testTTL - 2*testRenew, testTTL + 2*time.Second},
		{"released", func(t *testing.T, n *node) {
			if err := n.Release(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, 0, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := schemaDSN(t)
			a := start(t, dsn, "a")
			waitFor(t, 2*time.Second, "a leads", leads(a))
			epoch, _ := a.Leading()
			b := start(t, dsn, "b")
			waitFor(t, 2*time.Second, "b follows a", follows(b, a, epoch))
			drain(b.Changes())

			tt.step(t, a)
			if _, ok := a.Leading(); ok {
				t.Fatal("a still leads")
			}
			took := waitFor(t, tt.max, "b leads", leads(b))
			t.Logf("b took over %v after a %s (renew %v, ttl %v)", took, tt.name, testRenew, testTTL)
			if took < tt.min {
				t.Errorf("b took over after %v, before the lease could lapse (%v)", took, tt.min)
			}
			// Above a's, not necessarily the next: on a loaded machine b's
			// first acquisition may commit after its deadline has passed,
			// and b, not knowing, takes the next epoch.
			e, _ := b.Leading()
			if e <= epoch {
				t.Errorf("b leads with epoch %d, want above a's %d", e, epoch)
			}
			if !follows(b, b, e)() {
				t.Errorf("b's Leader() is not itself")
			}
			select {
			case <-b.Changes():
			default:
				t.Error("Changes not signalled on b's acquisition")
			}
			if tt.name != "released" {
				return
			}
			waitFor(t, 2*time.Second, "a follows b", follows(a, b, e))
			// A released Lease stays a follower even when the lease lapses.
			b.halt()
			time.Sleep(testTTL + 3*testRenew)
			if _, ok := a.Leading(); ok {
				t.Error("a led again after Release")
			}
		})
	}
}

// TestCutLeader: a leader whose database stops answering, or goes away,
// stops leading by its own deadline, before the follower takes over; once
// back, it follows the new leader, and its held statements change
// nothing.
func TestCutLeader(t *testing.T) {
	tests := []struct {
		name      string
		cut, heal func(p *proxy)
	}{
		{"blackholed", (*proxy).pause, (*proxy).resume},
		{"refused", func(p *proxy) { p.cut(true) }, func(p *proxy) { p.cut(false) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := schemaDSN(t)
			p, pdsn := newProxy(t, dsn)
			a := start(t, pdsn, "a")
			waitFor(t, 2*time.Second, "a leads", leads(a))
			epoch, _ := a.Leading()
			b := start(t, dsn, "b")
			waitFor(t, 2*time.Second, "b follows a", follows(b, a, epoch))

			t0 := time.Now()
			tt.cut(p)
			// Every renewal that can succeed started before t0, so a may
			// lead only until t0 + testDeadline.
			var led, took time.Duration
			for took == 0 {
				before := time.Since(t0)
				_, aok := a.Leading()
				_, bok := b.Leading()
				gap := time.Since(t0) - before
				if aok && before > testDeadline {
					t.Fatalf("a still led %v after the cut, past its local deadline %v", before, testDeadline)
				}
				if aok && bok && gap < testRenew/4 {
					t.Fatalf("a and b both lead %v after the cut", before)
				}
				if aok {
					led = before
				}
				if bok {
					took = before
				}
				if before > 3*time.Second {
					t.Fatalf("no takeover within 3s (a was last seen leading %v after the cut)", led)
				}
				time.Sleep(time.Millisecond)
			}
			t.Logf("cut off (%s): a last seen leading %v after the cut (its deadline: at most %v), b took over after %v",
				tt.name, led, testDeadline, took)
			if e, _ := b.Leading(); e != epoch+1 {
				t.Errorf("b leads with epoch %d, want %d", e, epoch+1)
			}

			tt.heal(p)
			waitFor(t, 3*time.Second, "a follows b", follows(a, b, epoch+1))
			for range 6 {
				if _, ok := b.Leading(); !ok {
					t.Fatal("b lost the lease after a came back")
				}
				if _, ok := a.Leading(); ok {
					t.Fatal("a leads again after coming back")
				}
				time.Sleep(testRenew)
			}
		})
	}
}

// TestRegainOwnLease: a leader that gave up by its deadline alone while
// its lease stayed in force (a renewal that reached the database late)
// takes it back with the next epoch at once, rather than leaving the
// cluster without a leader until it lapses.
func TestRegainOwnLease(t *testing.T) {
	dsn := schemaDSN(t)
	p, pdsn := newProxy(t, dsn)
	a := start(t, pdsn, "a")
	waitFor(t, 2*time.Second, "a leads", leads(a))
	epoch, _ := a.Leading()
	drain(a.Changes())
	p.pause()
	waitFor(t, testTTL, "a gives up", func() bool { return !leads(a)() })
	select {
	case <-a.Changes():
	default:
		t.Error("Changes not signalled on the loss")
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE cluster_lease SET expires_at = now() + interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	p.resume()
	took := waitFor(t, 3*time.Second, "a leads again", leads(a))
	t.Logf("a led again %v after the database came back", took)
	if e, _ := a.Leading(); e != epoch+1 {
		t.Errorf("a leads with epoch %d, want %d", e, epoch+1)
	}
}

// TestMembers: every node's row with its report, the leader's lag 0 and
// the followers' behind it; a node gone for an hour is not alive.
func TestMembers(t *testing.T) {
	dsn := schemaDSN(t)
	a := start(t, dsn, "a")
	waitFor(t, 2*time.Second, "a leads", leads(a))
	epoch, _ := a.Leading()
	c := start(t, dsn, "c")
	b := start(t, dsn, "b")
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `INSERT INTO cluster_nodes (node_id, addr, role, epoch, applied_seq, started_at, seen_at)
		VALUES ('old', 'old.test:8080', 'follower', 0, 12, now() - interval '2 hours', now() - interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	a.Report(cluster.RoleLeader, 100)
	b.Report(cluster.RoleFollower, 90)
	c.Report(cluster.RoleFollower, 70)

	var st cluster.Status
	waitFor(t, 2*time.Second, "heartbeats with the reports", func() bool {
		st, err = a.Members(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return len(st.Nodes) == 4 && st.Nodes[0].AppliedSeq == 100 && st.Nodes[1].AppliedSeq == 90 &&
			st.Nodes[2].AppliedSeq == 70 && st.Nodes[2].Epoch == epoch
	})
	if st.Lease != (cluster.Leader{Node: "a", Addr: "a.test:8080", Epoch: epoch}) || !st.Held ||
		st.ExpiresIn <= 0 || st.ExpiresIn > testTTL {
		t.Errorf("lease %+v held %v expires in %v", st.Lease, st.Held, st.ExpiresIn)
	}
	want := []struct {
		node, role     string
		lag            int64
		alive, leading bool
	}{
		{"a", cluster.RoleLeader, 0, true, true},
		{"b", cluster.RoleFollower, 10, true, false},
		{"c", cluster.RoleFollower, 30, true, false},
		{"old", cluster.RoleFollower, 88, false, false},
	}
	for i, w := range want {
		m := st.Nodes[i]
		if m.Node != w.node || m.Role != w.role || m.Lag != w.lag || m.Alive != w.alive || m.Leading != w.leading ||
			m.Addr != w.node+".test:8080" {
			t.Errorf("node %d: %+v, want %+v", i, m, w)
		}
		if w.alive && (m.Seen < 0 || m.Seen > 3*testTTL) || !w.alive && m.Seen < time.Hour {
			t.Errorf("%s seen %v ago", m.Node, m.Seen)
		}
	}
	var lines []string
	for _, m := range st.Nodes {
		lines = append(lines, fmt.Sprintf("%s %s e%d seq %d lag %d seen %v alive %v", m.Node, m.Role, m.Epoch, m.AppliedSeq, m.Lag, m.Seen.Round(time.Millisecond), m.Alive))
	}
	t.Logf("members:\n%s", strings.Join(lines, "\n"))

	// Without a lease in force, no lag can be told.
	b.halt()
	c.halt()
	if err := a.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(testRenew)
	st, err = a.Members(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Held || st.ExpiresIn > 0 || !slices.ContainsFunc(st.Nodes, func(m cluster.Member) bool { return m.Lag == -1 }) {
		t.Errorf("after release: held %v expires in %v, nodes %+v", st.Held, st.ExpiresIn, st.Nodes)
	}
	for _, m := range st.Nodes {
		if m.Lag != -1 || m.Leading {
			t.Errorf("after release: %+v", m)
		}
	}
}

// TestSingleNodeStoreBlocksLeading: while a single-node store holds the
// database, no node leads; once it closes, one does.
func TestSingleNodeStoreBlocksLeading(t *testing.T) {
	dsn := schemaDSN(t)
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := start(t, dsn, "a")
	time.Sleep(2 * testTTL)
	if _, ok := a.Leading(); ok {
		t.Fatal("a leads while a single-node store holds the database")
	}
	if ld, ok := a.Leader(); ok {
		t.Fatalf("a knows a leader %+v", ld)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 2*time.Second, "a leads once the store closed", leads(a))
	t.Logf("a led %v after the store closed", took)
}

// TestOpenNeedsSchema: without the store's migrations Open says what is
// missing.
func TestOpenNeedsSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	_, err := cluster.Open(context.Background(), dsn, cluster.Config{Node: "a", Addr: "a:1", Renew: time.Second, TTL: 3 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "cluster_nodes") {
		t.Fatalf("Open: %v, want an error naming cluster_nodes", err)
	}
}
