package ledger

import (
	"errors"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/fault"
)

// TestEveryStatusHasAnError: each status is a named error with a kind,
// or nil for those that succeeded; none is left unnamed.
func TestEveryStatusHasAnError(t *testing.T) {
	for s := Status(0); !strings.HasPrefix(s.String(), "status("); s++ {
		err := s.Err()
		if s.Succeeded() != (err == nil) {
			t.Errorf("%v: error %v", s, err)
		}
		if err != nil && fault.Of(err) == nil {
			t.Errorf("%v: %v is not a fault", s, err)
		}
	}
	if fault.Of(Status(250).Err()) == nil {
		t.Error("an unknown status has no error")
	}
	for _, c := range []struct {
		s    Status
		want error
		kind fault.Kind
	}{
		{StatusExistsDifferent, ErrExistsDifferent, fault.Conflict},
		{StatusInsufficientFunds, ErrInsufficientFunds, fault.Refused},
		{StatusFloorBelowUsage, ErrFloorBelowUsage, fault.Refused},
		{StatusPendingExpired, ErrPendingExpired, fault.Refused},
		{StatusPendingCommitted, ErrPendingCommitted, fault.Conflict},
		{StatusDebitNotFound, nil, fault.Internal},
	} {
		err := c.s.Err()
		if c.want != nil && !errors.Is(err, c.want) || fault.KindOf(err) != c.kind {
			t.Errorf("%v: %v (%v), want %v (%v)", c.s, err, fault.KindOf(err), c.want, c.kind)
		}
	}
}

func TestChainStatus(t *testing.T) {
	for _, c := range []struct {
		in   []Status
		want Status
	}{
		{nil, StatusOK},
		{[]Status{StatusOK, StatusOK}, StatusOK},
		{[]Status{StatusExists, StatusExists}, StatusExists},
		{[]Status{StatusLinkedEventFailed, StatusInsufficientFunds}, StatusInsufficientFunds},
		{[]Status{StatusInsufficientFunds, StatusLinkedEventFailed}, StatusInsufficientFunds},
	} {
		rs := make([]Result, len(c.in))
		for i, s := range c.in {
			rs[i].Status = s
		}
		if got := ChainStatus(rs); got != c.want {
			t.Errorf("ChainStatus(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
