package callback

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// Limits of live FX quotes.
const (
	// QuoteParallelMax bounds the fx.quote callbacks in flight for one
	// quote: a quote with more providers asks the others as answers come.
	QuoteParallelMax = 16
	// OfferValidityMax is the farthest a live offer's validUntil may be:
	// an offer is for one quote, which lasts minutes, not for publication.
	OfferValidityMax = 10 * time.Minute
	// offerBodyMax bounds a provider's answer to fx.quote, in bytes: an
	// offer is a handful of members.
	offerBodyMax = 4 << 10
	// quoteLogEvery is how often at most an ignored answer of one
	// provider is logged.
	quoteLogEvery = time.Minute
)

// QuoteFormat renders the fx.quote request and reads providers' offers:
// the JSON API's (package api), whatever a provider's MessageFormat.
type QuoteFormat interface {
	// FXQuote renders request id for q, to be answered by expires. It
	// must not render q.Exclude.
	FXQuote(id string, q *transfer.LiveQuote, expires time.Time) ([]byte, error)
	// FXOffer reads a provider's answer to request id for q: a sheet for
	// q's pair, without its Provider, not yet validated.
	FXOffer(id string, q *transfer.LiveQuote, body []byte) (fx.Sheet, error)
}

// Quoters lists the participants to ask for live FX offers on a pair
// (*participant.Registry).
type Quoters interface {
	LiveQuoters(source, target money.Currency) []participant.Participant
}

// QuoteStats counts what live FX quote requests got, since the start.
type QuoteStats struct {
	Asked   int64 // fx.quote callbacks sent
	Offers  int64 // valid offers returned
	NoOffer int64 // answered 204, another status, or an empty body
	// Ignored are answers that count as none and say something is
	// wrong: a bad signature, an invalid or expired offer, an answer
	// after the deadline or no answer at all.
	Ignored int64
}

// LiveQuoter asks the FX providers that quote live for their offers on
// an exchange, by the fx.quote callback: it implements
// transfer.LiveRates. Every provider of the pair (Quoters) that is not
// excluded is asked concurrently, at most QuoteParallelMax at once, each
// with a request signed with its own callback secrets; Ask returns once
// all have answered or Timeout has passed, whichever comes first, so
// that a slow provider delays a quote by at most Timeout. Fill in the
// exported fields before the first Ask.
type LiveQuoter struct {
	Client    *Client
	Format    QuoteFormat
	Providers Quoters
	// Timeout bounds the wait for the answers: the confirm timeout. It
	// must be positive.
	Timeout time.Duration
	// Log, if set, hears of ignored answers, at most once a minute per
	// provider.
	Log *slog.Logger

	asked, offers, noOffer, ignored atomic.Int64

	mu     sync.Mutex
	logged map[string]time.Time // provider → when an ignored answer was last logged
}

var _ transfer.LiveRates = (*LiveQuoter)(nil)

// Ask asks the providers for q and returns a sheet per valid offer, its
// Provider the provider that signed it. An answer is an offer if it is
// 2xx with a body, signed (SignatureHeader) over that body under one of
// the provider's valid callback secrets, is an offer for this request
// (QuoteFormat.FXOffer) that passes fx.Sheet.Validate, is valid for at
// most OfferValidityMax, and came before the deadline. 204, another
// status or an empty body is no offer; anything else is ignored
// (QuoteStats.Ignored).
func (q *LiveQuoter) Ask(ctx context.Context, lq transfer.LiveQuote) []fx.Sheet {
	provs := slices.DeleteFunc(q.Providers.LiveQuoters(lq.Source, lq.Target), func(p participant.Participant) bool {
		return slices.Contains(lq.Exclude, p.ID)
	})
	if len(provs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, q.Timeout)
	defer cancel()
	id := rand.Text()
	// The deadline (the caller's, if it comes first), on the client's
	// clock.
	d, _ := ctx.Deadline()
	expires := q.Client.Now().Add(time.Until(d))
	body, err := q.Format.FXQuote(id, &lq, expires)
	if err != nil {
		if q.Log != nil {
			q.Log.Error("fx.quote: render the request", "err", err)
		}
		return nil
	}
	// Buffered for every answer: a worker that finishes after Ask has
	// returned does not block, and ends.
	offers := make(chan fx.Sheet, len(provs))
	jobs := make(chan *participant.Participant)
	var wg sync.WaitGroup
	for range min(len(provs), QuoteParallelMax) {
		wg.Go(func() {
			for p := range jobs {
				if sh, ok := q.ask(ctx, p, id, &lq, body); ok {
					offers <- sh
				}
			}
		})
	}
	go func() {
		defer close(jobs)
		for i := range provs {
			select {
			case jobs <- &provs[i]:
			case <-ctx.Done():
				return // the deadline: the others are not asked
			}
		}
	}()
	go func() {
		// Workers end once jobs is closed and their last answer is in.
		wg.Wait()
		close(offers)
	}()
	var out []fx.Sheet
	for {
		select {
		case sh, ok := <-offers:
			if !ok {
				return out
			}
			out = append(out, sh)
		case <-ctx.Done():
			// The deadline: what came is all there is. Offers in the
			// channel came in time (a worker hands over only those), and
			// select may have picked this case first.
			for {
				select {
				case sh, ok := <-offers:
					if !ok {
						return out
					}
					out = append(out, sh)
				default:
					return out
				}
			}
		}
	}
}

// ask sends the request to provider p and reads its offer.
func (q *LiveQuoter) ask(ctx context.Context, p *participant.Participant, id string, lq *transfer.LiveQuote, body []byte) (fx.Sheet, bool) {
	q.asked.Add(1)
	b, h, err := q.Client.send(ctx, p, body)
	switch {
	case ctx.Err() != nil:
		q.ignore(p.ID, "no answer before the deadline", err)
		return fx.Sheet{}, false
	case errors.Is(err, ErrRefused):
		q.noOffer.Add(1)
		return fx.Sheet{}, false
	case err != nil:
		q.ignore(p.ID, "no answer", err)
		return fx.Sheet{}, false
	case len(bytes.TrimSpace(b)) == 0:
		q.noOffer.Add(1)
		return fx.Sheet{}, false
	case len(b) > offerBodyMax:
		q.ignore(p.ID, "answer too large", fmt.Errorf("over %d bytes", offerBodyMax))
		return fx.Sheet{}, false
	}
	now := q.Client.Now()
	if err := verifyAnswer(h.Get(wire.SignatureHeader), p.CallbackSecrets(now), b, now); err != nil {
		q.ignore(p.ID, "answer not signed by the provider", err)
		return fx.Sheet{}, false
	}
	sh, err := q.Format.FXOffer(id, lq, b)
	if err == nil {
		sh.Provider, sh.Source, sh.Target = p.ID, lq.Source, lq.Target
		err = sh.Validate(now)
	}
	if err == nil && sh.ValidUntil.Sub(now) > OfferValidityMax {
		err = fmt.Errorf("validUntil %s is more than %s ahead", sh.ValidUntil.Format(time.RFC3339), OfferValidityMax)
	}
	if err != nil {
		q.ignore(p.ID, "invalid offer", err)
		return fx.Sheet{}, false
	}
	q.offers.Add(1)
	return sh, true
}

// ignore counts an ignored answer of provider and logs it, unless one of
// its answers was logged less than a minute ago.
func (q *LiveQuoter) ignore(provider, why string, err error) {
	q.ignored.Add(1)
	if q.Log == nil {
		return
	}
	now := q.Client.Now()
	q.mu.Lock()
	last, seen := q.logged[provider]
	due := !seen || now.Sub(last) >= quoteLogEvery
	if due {
		if q.logged == nil {
			q.logged = map[string]time.Time{}
		}
		q.logged[provider] = now
	}
	q.mu.Unlock()
	if due {
		q.Log.Warn("fx.quote: answer ignored", "provider", provider, "why", why, "err", err)
	}
}

// Stats returns the counts so far.
func (q *LiveQuoter) Stats() QuoteStats {
	return QuoteStats{Asked: q.asked.Load(), Offers: q.offers.Load(), NoOffer: q.noOffer.Load(), Ignored: q.ignored.Load()}
}
