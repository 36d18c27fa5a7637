package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hulian/hulian/internal/wire"
)

// A CrossBorder run pays, from the CNY participants, +852 numbers of one
// HKD wallet, through one FX provider (kind fxp, CNY and HKD, prefunded
// in HKD as the payers are in CNY) that publishes a CNY→HKD sheet for
// the run. The setup adds these to the fleet; the run withdraws the
// sheet when it ends, so that a switch it leaves keeps no bench offer.
const (
	// fxCurrency is what the HKD wallet's users are paid in.
	fxCurrency = "HKD"
	// fxRate is the sheet's rate, HKD per CNY, about the market's; fxFee
	// its fee, 0.10 CNY and 10 basis points of what is exchanged.
	fxRate     = "1.0850"
	fxFeeFixed = "0.10"
	fxFeeBPS   = 10
	// fxValidityMargin is how long the sheet outlives the run's planned
	// end (warm-up and duration), for setup and slow answers.
	fxValidityMargin = time.Hour
	// sheetValidityMax is the farthest validUntil the switch takes
	// (fx.ValidityMax, which a test holds it to: importing fx would link
	// the switch's storage into the generator).
	sheetValidityMax = 7 * 24 * time.Hour
	// hkNumbersMax is how many +852 numbers there are to draw from:
	// 63xx xxxx to 65xx xxxx and 96xx xxxx to 97xx xxxx, Hong Kong mobile
	// numbers that all validate (a test samples them).
	hkNumbersMax = 5_000_000
	// hkShare is the HKD wallet's aliases as a share of --aliases: 1 in 4.
	hkShare = 4
)

// purposes are the purpose codes the payments draw from: ISO 20022
// codes a wallet's user would pick (salary, goods, supplier, family).
var purposes = [...]string{"SALA", "GDDS", "SUPP", "FAMI"}

// fxSide is what a CrossBorder run sets up beyond the CNY participants.
type fxSide struct {
	provider *party
	wallet   *party
	// hk are the wallet's numbers, as appendHK reads them.
	hk []uint32
	// validUntil is the sheet's end.
	validUntil time.Time
}

// appendHK appends the E.164 form of the +852 number n (below
// hkNumbersMax): the first 3 million are +852 6300 0000 onwards, the
// rest +852 9600 0000 onwards.
func appendHK(b []byte, n uint32) []byte {
	b = append(b, "+852"...)
	if n < 3_000_000 {
		n += 63_000_000
	} else {
		n += 96_000_000 - 3_000_000
	}
	var d [8]byte
	for i := 7; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:]...)
}

// hkNumbers are the HKD wallet's numbers.
var hkNumbers = numbering{
	value:    func(n uint32) string { return string(appendHK(nil, n)) },
	account:  func(v string) string { return "hk-" + v[4:] },
	currency: fxCurrency,
}

// setupFX creates the FX provider and the HKD wallet, funds the
// provider in HKD, registers the wallet's numbers (one for every
// hkShare of cfg.Aliases) and publishes the sheet.
func (g *gen) setupFX(ctx context.Context, f *fleet) error {
	op := "Bearer " + g.cfg.Token
	x := &fxSide{}
	for _, np := range []struct {
		to   **party
		id   string
		n    wire.NewParticipant
		fund bool
	}{
		{&x.provider, "fx", wire.NewParticipant{Name: "Bench FX provider", Kind: "fxp", Currencies: []string{currency, fxCurrency}}, true},
		{&x.wallet, "hk", wire.NewParticipant{Name: "Bench HKD wallet", Kind: "wallet", Currencies: []string{fxCurrency}}, false},
	} {
		np.n.ID = "bench-" + f.runID + "-" + np.id
		var p wire.Participant
		if err := g.call(ctx, "POST", "/v1/participants", op, np.n, &p); err != nil {
			return fmt.Errorf("create participant %s: %w", np.n.ID, err)
		}
		if p.APIKey == "" {
			return fmt.Errorf("create participant %s: no apiKey in the answer", np.n.ID)
		}
		*np.to = &party{id: np.n.ID, auth: "Bearer " + p.APIKey}
		if np.fund {
			err := g.call(ctx, "POST", "/v1/participants/"+np.n.ID+"/funds", op, wire.Funds{
				Currency: fxCurrency, Amount: prefund, Direction: "deposit"}, nil)
			if err != nil {
				return fmt.Errorf("fund participant %s: %w", np.n.ID, err)
			}
		}
	}
	n := max(1, g.cfg.Aliases/hkShare)
	seen := make(map[uint32]struct{}, n)
	vs := make([]uint32, 0, n)
	for len(vs) < n {
		v := uint32(randN(hkNumbersMax))
		if _, dup := seen[v]; !dup {
			seen[v] = struct{}{}
			vs = append(vs, v)
		}
	}
	seen = nil
	dropped := 0
	err := g.registerJobs(ctx, appendJobs(nil, x.wallet, -1, vs), &hkNumbers, func(_ regJob, kept []uint32, d int) {
		x.hk = append(x.hk, kept...)
		dropped += d
	})
	if err != nil {
		return err
	}
	if len(x.hk) == 0 {
		return fmt.Errorf("the HKD wallet %s has no alias left to be paid at (%d taken by earlier runs)", x.wallet.id, dropped)
	}
	f.dropped += dropped
	// The sheet covers the run with a margin; a run bounded by requests
	// alone gets the longest validity the switch allows (the sheet is
	// withdrawn at the end in any case).
	now := time.Now()
	valid := sheetValidityMax - time.Minute
	if g.cfg.Duration > 0 {
		valid = min(valid, g.cfg.Warmup+g.cfg.Duration+fxValidityMargin)
	}
	x.validUntil = now.Add(valid).UTC().Truncate(time.Second)
	err = g.call(ctx, "PUT", "/v1/fx/rates/"+currency+"/"+fxCurrency, x.provider.auth, wire.NewFXRate{
		Rate: fxRate, ValidUntil: x.validUntil, Fee: &wire.FXFee{Fixed: fxFeeFixed, BPS: fxFeeBPS}}, nil)
	if err != nil {
		return fmt.Errorf("publish the %s→%s sheet of %s: %w", currency, fxCurrency, x.provider.id, err)
	}
	f.fx = x
	return nil
}

// withdrawFX withdraws the run's sheet, with a context of its own: an
// interrupted run withdraws it too.
func (g *gen) withdrawFX(x *fxSide, p *progress) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := g.call(ctx, "DELETE", "/v1/fx/rates/"+currency+"/"+fxCurrency, x.provider.auth, nil, nil)
	if err != nil {
		p.say("could not withdraw the %s→%s sheet of %s (valid until %s): %v", currency, fxCurrency, x.provider.id,
			x.validUntil.Format(time.RFC3339), err)
	}
}

// crossborder asks for an FX quote to a random +852 number, SEND or
// RECEIVE at random, then pays it: two requests. The payment counts as
// committed when the transfer answers COMMITTED with its fx object.
func (w *worker) crossborder() {
	if !w.begin() {
		return
	}
	x := w.r.f.fx
	hk := x.hk[randN(len(x.hk))]
	user := w.accounts[0] + randN(w.accounts[1]-w.accounts[0])
	b := append(w.body[:0], `{"payee":{"type":"MSISDN","value":"`...)
	b = appendHK(b, hk)
	b = append(b, `"},"amount":"`...)
	b = appendAmount(b, randAmount())
	b = append(b, `","currency":"`+currency+`","amountType":"`...)
	if randN(2) == 0 {
		b = append(b, "SEND"...)
	} else {
		b = append(b, "RECEIVE"...)
	}
	b = append(b, `","payerAccount":"u-`...)
	b = appendInt(b, user)
	b = append(b, `"}`...)
	w.body = b
	start := time.Now()
	status, err := w.send("POST", pathQuotes, w.hdrPost, b)
	if !w.finish(opQuote, start, status, err, 0) {
		return
	}
	if status != http.StatusCreated {
		w.failAnswer("quote", status)
		return
	}
	q, ok := scanPayment(w.resp)
	switch {
	case !ok || len(q.id) == 0 || len(q.amount) == 0:
		w.fail("bad answer: quote without id or amount")
		return
	case !q.fx:
		w.fail("bad answer: quote without fx")
		return
	}
	w.quoteID = append(w.quoteID[:0], q.id...)
	w.quoteAmount = append(w.quoteAmount[:0], q.amount...)

	if !w.begin() {
		return
	}
	b = append(w.body[:0], `{"id":"`...)
	b = append(b, w.idPrefix...)
	w.seq++
	b = appendInt(b, int(w.seq))
	id := b[len(`{"id":"`):]
	b = append(b, `","payee":{"type":"MSISDN","value":"`...)
	b = appendHK(b, hk)
	b = append(b, `"},"amount":"`...)
	b = append(b, w.quoteAmount...)
	b = append(b, `","currency":"`+currency+`","quoteId":"`...)
	b = append(b, w.quoteID...)
	b = append(b, `","payerAccount":"u-`...)
	b = appendInt(b, user)
	b = append(b, `","authentication":{"factors":["pin","device"]},"purpose":"`...)
	b = append(b, purposes[randN(len(purposes))]...)
	b = append(b, `"}`...)
	w.body = b
	start = time.Now()
	status, err = w.send("POST", pathTransfers, w.hdrPost, b)
	t, tok := w.tally(payeeHK, status, err, id)
	if !w.finish(opTransfer, start, status, err, 1) || !w.measured {
		return
	}
	switch {
	case status/100 == 2 && !tok:
		w.transfers++
		w.transferStatuses[min(max(status, 0), maxStatus-1)]++
		w.fail("bad answer: unreadable transfer")
	case status/100 == 2 && string(t.state) == "COMMITTED" && !t.fx:
		w.transfers++
		w.transferStatuses[min(max(status, 0), maxStatus-1)]++
		w.fail("bad answer: transfer without fx")
	case status/100 == 2:
		w.transferOutcome(status, t.state, nil)
	default:
		name, _ := problemName(w.resp)
		w.transferOutcome(status, nil, name)
	}
}
