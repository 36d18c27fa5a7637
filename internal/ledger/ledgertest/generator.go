package ledgertest

import (
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

// Generator makes random batches that exercise every command and most
// refusals: duplicates, conflicting ids, chains that fail, reservations
// that expire, floors that are hit. The same seed gives the same batches.
type Generator struct {
	rng      *rand.Rand
	now      int64
	accounts []ledger.AccountID
	nextAcct ledger.AccountID
	sent     []ledger.Command
	reserves []ledger.ID
	nextID   uint64
}

// Start is the generator's first batch time.
const Start = int64(1_750_000_000) * Second

// NewGenerator returns a generator seeded with seed.
func NewGenerator(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: Start, nextAcct: 1}
}

var currencies = []money.Currency{money.MustCurrency("CNY"), money.MustCurrency("USD")}

// Setup returns a first batch: per currency an unbounded settlement-bank
// account and a few participant accounts, some with a floor, funded from
// the bank.
func (g *Generator) Setup() (int64, []ledger.Command) {
	var cmds []ledger.Command
	for _, cur := range currencies {
		bank := g.newAccount()
		cmds = append(cmds, ledger.Command{Kind: ledger.KindCreateAccount, Account: bank, Currency: cur, AccountFlags: ledger.AccountUnbounded})
		for i := 0; i < 4; i++ {
			a := g.newAccount()
			cmds = append(cmds, ledger.Command{Kind: ledger.KindCreateAccount, Account: a, Currency: cur, Floor: money.Amount(g.rng.IntN(3) * 2000)})
			cmds = append(cmds, ledger.Command{Kind: ledger.KindPost, ID: g.newID(), Debit: bank, Credit: a, Amount: 5000})
		}
	}
	return g.now, cmds
}

func (g *Generator) newAccount() ledger.AccountID {
	a := g.nextAcct
	g.nextAcct++
	g.accounts = append(g.accounts, a)
	return a
}

func (g *Generator) newID() ledger.ID {
	g.nextID++
	var id ledger.ID
	binary.BigEndian.PutUint64(id[8:], g.nextID)
	id[0] = 0x7e
	return id
}

// Next returns the next batch and its time. Time mostly moves forward by
// up to 1.5 s, and sometimes steps back as a wall clock may.
func (g *Generator) Next() (int64, []ledger.Command) {
	switch r := g.rng.IntN(100); {
	case r < 5:
		g.now -= Second
	default:
		g.now += g.rng.Int64N(3 * Second / 2)
	}
	n := 1 + g.rng.IntN(12)
	if g.rng.IntN(10) == 0 {
		n = 50 + g.rng.IntN(150)
	}
	cmds := make([]ledger.Command, 0, n)
	for len(cmds) < n {
		if g.rng.IntN(100) < 6 {
			k := 2 + g.rng.IntN(3)
			for j := 0; j < k; j++ {
				c := g.command()
				c.Linked = j < k-1
				cmds = append(cmds, c)
			}
			if g.rng.IntN(20) == 0 { // leave a chain open now and then
				cmds[len(cmds)-1].Linked = true
			}
			continue
		}
		cmds = append(cmds, g.command())
	}
	return g.now, cmds
}

func (g *Generator) account() ledger.AccountID {
	if g.rng.IntN(50) == 0 {
		return g.nextAcct + 100 // never created
	}
	return g.accounts[g.rng.IntN(len(g.accounts))]
}

func (g *Generator) amount() money.Amount {
	switch g.rng.IntN(40) {
	case 0:
		return 0
	case 1:
		return -money.Amount(1 + g.rng.IntN(10))
	case 2:
		return money.Amount(5000 + g.rng.IntN(20000)) // often beyond a floor
	}
	return money.Amount(1 + g.rng.IntN(3000))
}

func (g *Generator) command() ledger.Command {
	r := g.rng.IntN(100)
	var c ledger.Command
	switch {
	case r < 30:
		c = ledger.Command{Kind: ledger.KindPost, ID: g.newID(), Debit: g.account(), Credit: g.account(), Amount: g.amount(), Purpose: uint16(g.rng.IntN(3))}
	case r < 50:
		c = ledger.Command{Kind: ledger.KindReserve, ID: g.newID(), Debit: g.account(), Credit: g.account(), Amount: g.amount(),
			Timeout: time.Duration(1+g.rng.IntN(5)) * time.Second}
		if g.rng.IntN(50) == 0 {
			c.Timeout = 0
		}
		g.reserves = append(g.reserves, c.ID)
	case r < 73:
		kind := ledger.KindCommit
		if r >= 65 {
			kind = ledger.KindAbort
		}
		c = ledger.Command{Kind: kind, ID: g.newID()}
		if len(g.reserves) > 0 {
			c.Pending = g.reserves[len(g.reserves)-1-g.rng.IntN(min(len(g.reserves), 30))]
		}
		if g.rng.IntN(30) == 0 {
			c.Amount = 1 // most likely a mismatch
		}
	case r < 83 && len(g.sent) > 0:
		return g.sent[g.rng.IntN(len(g.sent))] // the same command again
	case r < 88 && len(g.sent) > 0:
		c = g.sent[g.rng.IntN(len(g.sent))]
		c.Amount++ // same id, other content
		return c
	case r < 92:
		c = ledger.Command{Kind: ledger.KindCreateAccount, Currency: currencies[g.rng.IntN(2)], Floor: money.Amount(g.rng.IntN(2) * 1000)}
		if g.rng.IntN(3) == 0 {
			c.Account = g.accounts[g.rng.IntN(len(g.accounts))]
		} else {
			c.Account = g.newAccount()
		}
	case r < 95:
		c = ledger.Command{Kind: ledger.KindSetFloor, Account: g.account(), Floor: money.Amount(g.rng.IntN(5) * 1000)}
	case r < 97:
		c = ledger.Command{Kind: ledger.KindMark, ID: g.newID(), Currency: currencies[g.rng.IntN(2)], Purpose: 9}
		if g.rng.IntN(20) == 0 {
			c.Currency = 1 // not a currency
		}
	default:
		c = ledger.Command{Kind: ledger.KindPost, ID: g.newID(), Debit: g.account(), Credit: g.account(), Amount: g.amount(), Timeout: time.Second}
	}
	switch g.rng.IntN(100) {
	case 0:
		c.Meta = string(make([]byte, ledger.MetaMax+1)) // refused
	case 1, 2, 3, 4, 5, 6, 7, 8, 9, 10:
		c.Meta = "meta " + string(rune('a'+g.rng.IntN(26)))
	}
	if c.Kind != ledger.KindCreateAccount && c.Kind != ledger.KindSetFloor {
		g.sent = append(g.sent, c)
	}
	return c
}
