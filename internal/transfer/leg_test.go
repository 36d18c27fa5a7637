package transfer

import (
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
)

// TestLedgerIDGolden pins the ledger ids of a payment's transfers to
// values computed outside Go from docs/formats.md's construction
// (SHA-256 of "hulian/transfer/v1" ‖ uvarint(len(leg)) ‖ leg ‖
// uvarint(len(id)) ‖ id, first 16 bytes): ids stored by earlier releases
// must keep matching, or retries would create second payments.
func TestLedgerIDGolden(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"payment", "4f0ff72c595bc31602342ec6f836b32d"},
		{"fee", "2fde8efc08b1e27215ae10ce63138f21"},
		{"commit", "44331fb1f563033d1f1bec13b0f7180b"},
		{"fee-commit", "46f4ced04b332ab1c12c3fe0e120adde"},
		{"abort", "e23407b5feb58508c14812f5e39fcda9"},
		{"fee-abort", "f4ec4781dc9c0a38dee8889f0382fd5e"},
		{"deposit", "d30aa085459e67fa776e0bd81c5a8c48"},
		{"withdrawal", "503a113f77ce4fc56013aaefa5bab075"},
	} {
		id := ledgerID(c.name, "wallet-a.0001")
		if got := hex.EncodeToString(id[:]); got != c.want {
			t.Errorf("ledger id of %s: %s, want %s", c.name, got, c.want)
		}
	}
}

// TestLegNames: a leg is named by its purpose, with an ordinal for a
// purpose met before; the phases of the payment leg keep their first
// names ("commit", "abort"), the others are "<leg>-commit".
func TestLegNames(t *testing.T) {
	purposes := []uint16{purpose.Payment, purpose.Fee, purpose.Fee, 999}
	at := func(i int) uint16 { return purposes[i] }
	var names []string
	for i := range purposes {
		names = append(names, legName(at, i))
	}
	if want := []string{"payment", "fee", "fee-2", "purpose-999"}; !slices.Equal(names, want) {
		t.Errorf("leg names %v, want %v", names, want)
	}
	for _, c := range []struct {
		leg  string
		ph   phase
		want string
	}{
		{"payment", commit, "commit"}, {"payment", abort, "abort"},
		{"fee", commit, "fee-commit"}, {"fee-2", abort, "fee-2-abort"},
	} {
		if got := phaseName(c.leg, c.ph); got != c.want {
			t.Errorf("phaseName(%s, %v) = %s, want %s", c.leg, c.ph, got, c.want)
		}
	}
}

// TestPhases: a payment's legs become one linked chain in each phase,
// the record on the first leg only, the digest on every leg, the
// reason on the payment leg's second phase.
func TestPhases(t *testing.T) {
	payer := participant.Participant{ID: "wallet-a", Number: 1}
	payee := participant.Participant{ID: "wallet-b", Number: 2}
	for _, c := range []struct {
		name string
		fee  int64
		want []string
	}{
		{"no fee", 0, []string{"payment"}},
		{"fee", 25, []string{"payment", "fee"}},
	} {
		legs := schemeLegs(nil, &payer, &payee, cny, 1000, money.Amount(c.fee))
		digest := ledger.ID{9}
		for _, timeout := range []int64{0, 5e9} {
			cmds := firstPhase(nil, legs, "x.1", digest, "record", time.Duration(timeout))
			if len(cmds) != len(c.want) {
				t.Fatalf("%s: %d commands", c.name, len(cmds))
			}
			for i, cmd := range cmds {
				kind := ledger.KindPost
				if timeout > 0 {
					kind = ledger.KindReserve
				}
				switch {
				case cmd.Kind != kind, cmd.ID != ledgerID(c.want[i], "x.1"), cmd.Ref != digest,
					cmd.Linked != (i < len(cmds)-1), (cmd.Meta == "record") != (i == 0),
					cmd.Amount != legs[i].Amount, cmd.Debit != payer.Account(cny):
					t.Errorf("%s: first phase command %d: %+v", c.name, i, cmd)
				}
			}
		}
		for _, ph := range []phase{commit, abort} {
			cmds := secondPhase(nil, legs, "x.1", ph, "because")
			for i, cmd := range cmds {
				if cmd.Pending != ledgerID(c.want[i], "x.1") || cmd.ID != ledgerID(phaseName(c.want[i], ph), "x.1") ||
					cmd.Purpose != legs[i].Purpose || cmd.Linked != (i < len(cmds)-1) || (cmd.Meta == "because") != (i == 0) {
					t.Errorf("%s: second phase command %d: %+v", c.name, i, cmd)
				}
			}
		}
	}
}

// TestSchemeLegs: the fee schedule's legs: the amount to the payee, and
// the fee, if any, to the hub's fee account.
func TestSchemeLegs(t *testing.T) {
	payer := participant.Participant{ID: "wallet-a", Number: 1}
	payee := participant.Participant{ID: "wallet-b", Number: 2}
	legs := schemeLegs(nil, &payer, &payee, cny, 1000, 25)
	want := []Leg{
		{Purpose: purpose.Payment, Debit: payer.Account(cny), Credit: payee.Account(cny), Amount: 1000},
		{Purpose: purpose.Fee, Debit: payer.Account(cny), Credit: participant.FeeAccount(cny), Amount: 25},
	}
	if !slices.Equal(legs, want) {
		t.Errorf("legs %+v, want %+v", legs, want)
	}
	if legs := schemeLegs(nil, &payer, &payee, cny, 1000, 0); len(legs) != 1 {
		t.Errorf("no fee: %d legs", len(legs))
	}
}
