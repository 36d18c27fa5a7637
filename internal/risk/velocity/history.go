package velocity

import "time"

// History is one key's slots copied out of its table, so that a screening
// that asks several windows of the same payer account or alias (rules
// commonly ask 5 m, 1 h and 24 h) looks the key up once and answers each
// window from its copy. The zero History counts nothing.
type History struct {
	w     *Windows
	n     int
	last  [wideMax]uint32
	cs    [wideMax][2]uint32
	h     hist
	found bool
}

// Since returns how many transfers the history holds within d before now,
// and their total, as Payer and Alias answer.
func (h *History) Since(now time.Time, d time.Duration) (count, sum int64) {
	if !h.found {
		return 0, 0
	}
	from, ok := h.w.from(now, d)
	if !ok {
		return 0, 0
	}
	return h.view().since(from)
}

func (h *History) view() view { return view{h.last[:h.n], h.cs[:h.n], &h.h} }

// copyFrom copies e's slots into h. The caller holds the shard's lock.
func copyFrom[S any](h *History, s *shard[S], e *entry[S]) {
	v := e.counts.view()
	if e.wide != 0 {
		v = s.pool[e.wide-1].view()
	}
	h.n = len(v.last)
	v.copyTo(h.view())
	h.found = true
}

// PayerHistory fills h with the history of the payer account (payer,
// payerAccount) in currency, and reports whether the account has not paid
// alias yet (what NewPayee answers): one look-up of the account for both.
func (w *Windows) PayerHistory(payer, payerAccount, currency, alias string, h *History) (newPayee bool) {
	*h = History{w: w}
	fp := fingerprint(w.hash(kindPayee, alias, "", ""))
	key := w.hash(kindPayer, payer, payerAccount, "")
	code := currencyCode(currency)
	s := w.payers.shardOf(key)
	s.mu.RLock()
	e := s.live(s.find(key))
	newPayee = e == nil || !e.val.payees.has(fp)
	own := e != nil && code != 0 && e.val.currency == code
	if own {
		copyFrom(h, s, e)
	}
	s.mu.RUnlock()
	if own || e == nil {
		// As in Payer: an account without an entry has no other
		// currency's entry worth a second look-up.
		return newPayee
	}
	key = w.hash(kindPayerIn, payer, payerAccount, currency)
	s = w.payers.shardOf(key)
	s.mu.RLock()
	if e := s.live(s.find(key)); e != nil {
		copyFrom(h, s, e)
	}
	s.mu.RUnlock()
	return newPayee
}

// AliasHistory fills h with the history of the payee alias in currency.
func (w *Windows) AliasHistory(alias, currency string, h *History) {
	*h = History{w: w}
	key := w.hash(kindAlias, alias, currency, "")
	s := w.aliases.shardOf(key)
	s.mu.RLock()
	if e := s.live(s.find(key)); e != nil {
		copyFrom(h, s, e)
	}
	s.mu.RUnlock()
}
