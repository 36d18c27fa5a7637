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
		in    []Status
		want  Status
		index int
	}{
		{nil, StatusOK, 0},
		{[]Status{StatusOK, StatusOK}, StatusOK, 0},
		{[]Status{StatusExists, StatusExists}, StatusExists, 0},
		{[]Status{StatusLinkedEventFailed, StatusInsufficientFunds}, StatusInsufficientFunds, 1},
		{[]Status{StatusInsufficientFunds, StatusLinkedEventFailed}, StatusInsufficientFunds, 0},
		{[]Status{StatusLinkedEventFailed, StatusLinkedEventFailed, StatusLinkedEventFailed, StatusInsufficientFunds}, StatusInsufficientFunds, 3},
		{[]Status{StatusLinkedEventFailed, StatusLinkedEventFailed}, StatusLinkedEventFailed, 0},
	} {
		rs := make([]Result, len(c.in))
		for i, s := range c.in {
			rs[i].Status = s
		}
		if got := ChainStatus(rs); got != c.want {
			t.Errorf("ChainStatus(%v) = %v, want %v", c.in, got, c.want)
		}
		if i, got := ChainFailure(rs); got != c.want || i != c.index {
			t.Errorf("ChainFailure(%v) = %d, %v, want %d, %v", c.in, i, got, c.index, c.want)
		}
	}
}
