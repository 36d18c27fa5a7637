package transfer

// Outcomes hears of payments' outcomes as the flow answers them, for
// metrics: each payment created (COMMITTED, RESERVED, HELD or ABORTED)
// or refused (its error) by Create, CreateMany, Prepare and PrepareMany,
// and each reservation decided (COMMITTED or ABORTED) by Fulfil, Reject,
// Release or Refuse. A retry answered from the ledger is not an outcome:
// it changed nothing; nor is a decision that failed, which refuses no
// payment. Outcome is called on the caller's goroutine once the ledger
// answered; it must be quick and must not keep o.
type Outcomes interface {
	Outcome(o *Outcome)
}

// observe tells the Outcomes observer, if any, of out's outcomes.
func (s *Service) observe(out []Outcome) {
	if s.Outcomes == nil {
		return
	}
	for i := range out {
		if o := &out[i]; o.Err != nil || o.Created {
			s.Outcomes.Outcome(o)
		}
	}
}

// decided tells the Outcomes observer, if any, of a reservation this
// call decided.
func (s *Service) decided(o *Outcome) {
	if s.Outcomes != nil && o.Created && o.Err == nil {
		c := *o // o is the caller's local: only a copy escapes
		s.Outcomes.Outcome(&c)
	}
}
