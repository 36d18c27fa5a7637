package api

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// Callbacks renders the JSON API's callbacks (wire.Callback) and reads
// confirm-mode payees' decisions (wire.Decision): the callback
// deliverer's Format for participants of the native API. A payee sees
// its own account reference in what it is sent.
type Callbacks struct{}

// TransfersCommitted renders the notification of committed incoming
// transfers, oldest first.
func (Callbacks) TransfersCommitted(ts []transfer.Transfer) ([]byte, error) {
	cb := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: make([]wire.Transfer, len(ts))}
	for i := range ts {
		o := transferOut(&ts[i], payeeView(&ts[i]))
		cb.Transfers[i] = o.Transfer()
	}
	return json.Marshal(cb)
}

// TransferConfirm renders the request to accept or reject t.
func (Callbacks) TransferConfirm(t *transfer.Transfer) ([]byte, error) {
	o := transferOut(t, payeeView(t))
	wt := o.Transfer()
	return json.Marshal(wire.Callback{Event: wire.EventTransferConfirm, Transfer: &wt})
}

// payeeView is the payee participant of t as a viewer: callbacks show
// what it may see.
func payeeView(t *transfer.Transfer) auth.Principal {
	return auth.Principal{Role: auth.RoleParticipant, Participant: participant.Participant{ID: t.Payee.Participant}}
}

// errDecision means a payee's answer is not a decision.
var errDecision = errors.New("not a decision: want {\"decision\":\"accept\"} or {\"decision\":\"reject\",\"reason\":\"…\"}")

// Decision reads a payee's answer to TransferConfirm of t. An answer
// that names a transfer (transferId) must name t: a signed answer to one
// confirm request cannot then be replayed as the answer to another.
func (Callbacks) Decision(t *transfer.Transfer, body []byte) (bool, string, error) {
	var d wire.Decision
	if err := json.Unmarshal(body, &d); err != nil {
		return false, "", fmt.Errorf("%w: %v", errDecision, err)
	}
	if d.TransferID != "" && d.TransferID != t.ID {
		return false, "", fmt.Errorf("%w: the answer is for transfer %q", errDecision, d.TransferID)
	}
	switch d.Decision {
	case "accept":
		return true, "", nil
	case "reject":
		return false, d.Reason, nil
	}
	return false, "", fmt.Errorf("%w: decision %q", errDecision, d.Decision)
}

// LiquidityAlert renders a liquidity alert, event "liquidity.low" or
// "liquidity.restored".
func (Callbacks) LiquidityAlert(a *liquidity.Alert) ([]byte, error) {
	w := alertToWire(a)
	return json.Marshal(wire.Callback{Event: "liquidity." + string(a.Kind), Alert: &w})
}

// FXQuote renders the fx.quote request id for q, to be answered by
// expires: the exchange and the amount, in the currency its amountType
// names, and nothing of who pays whom.
func (Callbacks) FXQuote(id string, q *transfer.LiveQuote, expires time.Time) ([]byte, error) {
	in := q.Source
	if q.Mode == fx.Receive {
		in = q.Target
	}
	return json.Marshal(wire.FXQuoteRequest{Event: wire.EventFXQuote, ID: id, Source: q.Source.String(), Target: q.Target.String(),
		Amount: q.Amount.Format(in), AmountType: q.Mode.String(), ExpiresAt: expires.UTC()})
}

// errOffer means a provider's answer to fx.quote is not an offer.
var errOffer = errors.New("not an FX offer")

// FXOffer reads a provider's answer to the fx.quote request id for q: a
// rate sheet read as PUT /v1/fx/rates reads one, without its Provider
// and not yet validated. An answer that names a request (id) must name
// this one, so that a signed offer cannot be replayed as the answer to
// another request.
func (Callbacks) FXOffer(id string, q *transfer.LiveQuote, body []byte) (fx.Sheet, error) {
	var o wire.FXOffer
	if err := json.Unmarshal(body, &o); err != nil {
		return fx.Sheet{}, fmt.Errorf("%w: %v", errOffer, err)
	}
	if o.ID != "" && o.ID != id {
		return fx.Sheet{}, fmt.Errorf("%w: the answer is for request %q", errOffer, o.ID)
	}
	return sheetOf(&wire.NewFXRate{Rate: o.Rate, ValidUntil: o.ValidUntil, MinAmount: o.MinAmount, MaxAmount: o.MaxAmount, Fee: o.Fee},
		q.Source, q.Target)
}
