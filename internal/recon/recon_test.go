package recon

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

func rec(id string, amount int64, d Direction, s Status) Record {
	return Record{TransferID: id, Amount: amount, Direction: d, Status: s}
}

func collect(t *testing.T, sw, pt []Record) ([]Break, Summary, error) {
	t.Helper()
	var got []Break
	sum, err := Reconcile(SliceSource(sw), SliceSource(pt), func(b Break) error {
		got = append(got, b)
		return nil
	})
	return got, sum, err
}

func TestReconcileBreakKinds(t *testing.T) {
	a := rec("a", 100, Debit, Committed)
	for _, c := range []struct {
		name   string
		sw, pt []Record
		kind   Kind // 0: matched
	}{
		{"matched", []Record{a}, []Record{a}, 0},
		{"missing at switch", nil, []Record{a}, MissingAtSwitch},
		{"missing at participant", []Record{a}, nil, MissingAtParticipant},
		{"amount", []Record{a}, []Record{rec("a", 101, Debit, Committed)}, AmountMismatch},
		{"direction", []Record{a}, []Record{rec("a", 100, Credit, Committed)}, DirectionMismatch},
		{"status", []Record{a}, []Record{rec("a", 100, Debit, Aborted)}, StatusMismatch},
		{"status before direction and amount", []Record{a}, []Record{rec("a", 7, Credit, Aborted)}, StatusMismatch},
		{"direction before amount", []Record{a}, []Record{rec("a", 7, Credit, Committed)}, DirectionMismatch},
		{"aborted amounts still compared", []Record{rec("a", 1, Debit, Aborted)}, []Record{rec("a", 2, Debit, Aborted)}, AmountMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, sum, err := collect(t, c.sw, c.pt)
			if err != nil {
				t.Fatal(err)
			}
			if c.kind == 0 {
				if len(got) != 0 || sum.Matched != 1 || sum.Breaks != 0 {
					t.Fatalf("breaks %+v, summary %+v; want one match", got, sum)
				}
				return
			}
			if len(got) != 1 || sum.Matched != 0 || sum.Breaks != 1 || sum.ByKind[c.kind] != 1 {
				t.Fatalf("breaks %+v, summary %+v; want one %v", got, sum, c.kind)
			}
			b := got[0]
			if b.Kind != c.kind || b.TransferID != "a" {
				t.Fatalf("break %v of %s, want %v of a", b.Kind, b.TransferID, c.kind)
			}
			if (b.Switch != nil) != (len(c.sw) > 0) || (b.Participant != nil) != (len(c.pt) > 0) {
				t.Fatalf("sides %v %v, want %d %d records", b.Switch, b.Participant, len(c.sw), len(c.pt))
			}
			if b.Switch != nil && *b.Switch != c.sw[0] || b.Participant != nil && *b.Participant != c.pt[0] {
				t.Fatalf("sides %+v %+v, want %+v %+v", b.Switch, b.Participant, c.sw, c.pt)
			}
		})
	}
}

func TestReconcileInterleaved(t *testing.T) {
	sw := []Record{rec("a", 1, Debit, Committed), rec("c", 3, Credit, Committed), rec("d", 4, Debit, Aborted), rec("f", 6, Debit, Committed)}
	pt := []Record{rec("b", 2, Debit, Committed), rec("c", 3, Credit, Committed), rec("d", 5, Debit, Aborted), rec("e", 5, Credit, Committed)}
	got, sum, err := collect(t, sw, pt)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, b := range got {
		s = append(s, b.TransferID+":"+b.Kind.String())
	}
	want := "a:missing-at-participant b:missing-at-switch d:amount-mismatch e:missing-at-switch f:missing-at-participant"
	if strings.Join(s, " ") != want {
		t.Errorf("breaks %s\nwant   %s", strings.Join(s, " "), want)
	}
	if sum.Matched != 1 || sum.Breaks != 5 || sum.SwitchRecords != 4 || sum.ParticipantRecords != 4 {
		t.Errorf("summary %+v", sum)
	}
}

func TestReconcileRefusals(t *testing.T) {
	a, b := rec("a", 1, Debit, Committed), rec("b", 1, Debit, Committed)
	for _, c := range []struct {
		name   string
		sw, pt []Record
		want   error
		kind   fault.Kind
		inText string
	}{
		{"duplicate at participant", []Record{a}, []Record{a, a}, ErrDuplicate, fault.Invalid, "participant side: transfer a"},
		{"duplicate at switch", []Record{a, b, b}, []Record{a}, ErrDuplicate, fault.Internal, "switch side: transfer b"},
		{"unsorted participant", nil, []Record{b, a}, ErrUnsorted, fault.Invalid, "participant side: transfer a after b"},
		{"unsorted switch", []Record{b, a}, nil, ErrUnsorted, fault.Internal, "switch side: transfer a after b"},
		{"invalid id", nil, []Record{rec("a b", 1, Debit, Committed)}, ErrID, fault.Invalid, "participant side, record 1"},
		{"zero amount", nil, []Record{rec("a", 0, Debit, Committed)}, ErrAmount, fault.Invalid, "participant side, record 1"},
		{"no direction", nil, []Record{rec("a", 1, 0, Committed)}, ErrDirection, fault.Invalid, ""},
		{"no status", nil, []Record{rec("a", 1, Debit, 9)}, ErrStatus, fault.Invalid, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := collect(t, c.sw, c.pt)
			if !errors.Is(err, c.want) || fault.KindOf(err) != c.kind || !strings.Contains(fmt.Sprint(err), c.inText) {
				t.Fatalf("error %v (%v), want %v of kind %v saying %q", err, fault.KindOf(err), c.want, c.kind, c.inText)
			}
		})
	}
	t.Run("source error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Reconcile(SliceSource(nil), SourceFunc(func() (Record, bool, error) { return Record{}, false, boom }), func(Break) error { return nil })
		if !errors.Is(err, boom) {
			t.Fatalf("error %v, want boom", err)
		}
	})
	t.Run("emit error", func(t *testing.T) {
		stop := errors.New("stop")
		_, err := Reconcile(SliceSource([]Record{a}), SliceSource(nil), func(Break) error { return stop })
		if err != stop {
			t.Fatalf("error %v, want stop as is", err)
		}
	})
}

// TestReconcileProperty runs random workloads through the whole upload
// path (CSV out, CSV in, external sort with small runs, merge join) and
// checks the breaks against a model that holds both sides in maps.
func TestReconcileProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rounds := 60
	if testing.Short() {
		rounds = 10
	}
	for round := range rounds {
		s := seed + uint64(round)
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			if err := propertyRound(t, s); err != nil {
				t.Fatalf("seed %d: %v", s, err)
			}
		})
	}
}

func propertyRound(t *testing.T, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0))
	cur := money.MustCurrency([]string{"CNY", "JPY", "KWD"}[rng.IntN(3)])
	n := rng.IntN(2000)
	randomRecord := func(id string) Record {
		return Record{TransferID: id, Amount: 1 + rng.Int64N(1_000_000), Direction: Direction(1 + rng.IntN(2)), Status: Status(1 + rng.IntN(2))}
	}
	// ids of random length and alphabet, so that byte order is exercised
	alphabet := "-.0123456789:ABCZ_abcz"
	ids := map[string]bool{}
	for len(ids) < n {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		ids[string(b)] = true
	}
	swMap, ptMap := map[string]Record{}, map[string]Record{}
	for id := range ids {
		r := randomRecord(id)
		switch p := rng.IntN(20); {
		case p == 0:
			swMap[id] = r
		case p == 1:
			ptMap[id] = r
		default:
			swMap[id] = r
			q := r
			if rng.IntN(8) == 0 {
				q.Amount = 1 + rng.Int64N(1_000_000)
			}
			if rng.IntN(8) == 0 {
				q.Direction = 3 - q.Direction
			}
			if rng.IntN(8) == 0 {
				q.Status = 3 - q.Status
			}
			ptMap[id] = q
		}
	}
	// the model
	var want []Break
	var wantMatched int64
	for id := range ids {
		s, sok := swMap[id]
		p, pok := ptMap[id]
		switch {
		case !pok:
			want = append(want, Break{TransferID: id, Kind: MissingAtParticipant, Switch: &s})
		case !sok:
			want = append(want, Break{TransferID: id, Kind: MissingAtSwitch, Participant: &p})
		case s.Status != p.Status:
			want = append(want, Break{TransferID: id, Kind: StatusMismatch, Switch: &s, Participant: &p})
		case s.Direction != p.Direction:
			want = append(want, Break{TransferID: id, Kind: DirectionMismatch, Switch: &s, Participant: &p})
		case s.Amount != p.Amount:
			want = append(want, Break{TransferID: id, Kind: AmountMismatch, Switch: &s, Participant: &p})
		default:
			wantMatched++
		}
	}
	slices.SortFunc(want, func(a, b Break) int { return strings.Compare(a.TransferID, b.TransferID) })

	// the switch's side sorted, the participant's shuffled through CSV
	var sw, pt []Record
	for _, r := range swMap {
		sw = append(sw, r)
	}
	for _, r := range ptMap {
		pt = append(pt, r)
	}
	sortRecords(sw)
	rng.Shuffle(len(pt), func(i, j int) { pt[i], pt[j] = pt[j], pt[i] })
	var csv bytes.Buffer
	w := NewRecordWriter(&csv, cur)
	for _, r := range pt {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	sorted, err := Sort(NewCSVReader(&csv, cur), SortOptions{RunMax: 1 + rng.IntN(300), FanInMax: 2 + rng.IntN(6), Dir: t.TempDir()})
	if err != nil {
		return err
	}
	defer sorted.Close()
	var got []Break
	sum, err := Reconcile(SliceSource(sw), sorted, func(b Break) error {
		got = append(got, b)
		return nil
	})
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d breaks, model %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Errorf("break %d: %s %v, model %s %v", i, got[i].TransferID, got[i].Kind, want[i].TransferID, want[i].Kind)
		}
	}
	if sum.Matched != wantMatched || sum.Breaks != int64(len(want)) || sum.SwitchRecords != int64(len(sw)) || sum.ParticipantRecords != int64(len(pt)) {
		return fmt.Errorf("summary %+v, model matched %d breaks %d records %d/%d", sum, wantMatched, len(want), len(sw), len(pt))
	}
	var byKind int64
	for _, k := range Kinds() {
		byKind += sum.ByKind[k]
	}
	if byKind != sum.Breaks {
		return fmt.Errorf("breaks by kind add to %d, not %d", byKind, sum.Breaks)
	}
	return nil
}

func TestKindNames(t *testing.T) {
	want := []string{"missing-at-switch", "missing-at-participant", "status-mismatch", "direction-mismatch", "amount-mismatch"}
	for i, k := range Kinds() {
		b, err := k.MarshalText()
		if err != nil || string(b) != want[i] || k.String() != want[i] {
			t.Errorf("%d: %q %v, want %q", k, b, err, want[i])
		}
	}
	if _, err := Kind(0).MarshalText(); err == nil {
		t.Error("kind 0 has a name")
	}
}
