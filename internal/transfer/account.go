package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
)

// AccountType is the payee type of a payment to an account that the
// payee participant keeps, named without an alias: its value is the
// participant's id, "/", and the participant's own reference of the
// account (AccountPayee). Banks route so in ISO 20022 (CdtrAgt and
// CdtrAcct). The switch does not know the account: it passes it to the
// payee, which credits it, refuses the payment (confirm mode) or returns
// it.
const AccountType = "ACCOUNT"

// AccountMax bounds the account reference of an AccountType payee, as
// the directory bounds an alias's account.
const AccountMax = 128

// AccountPayee is the payee value of participant's account.
func AccountPayee(participantID, account string) string { return participantID + "/" + account }

// parseAccountPayee splits an AccountType payee value into the
// participant and its account reference.
func parseAccountPayee(v string) (directory.Party, error) {
	id, account, ok := strings.Cut(v, "/")
	switch {
	case !ok || !participant.ValidID(id):
		return directory.Party{}, fmt.Errorf("%w: payee value: an ACCOUNT payee is <participant id>/<account>", ErrInvalid)
	case !validAccount(account):
		return directory.Party{}, fmt.Errorf("%w: payee value: the account must be 1-%d bytes of printable UTF-8", ErrInvalid, AccountMax)
	}
	return directory.Party{Participant: id, Account: account}, nil
}

// validAccount reports whether s can be an account reference: non-blank
// printable UTF-8 of at most AccountMax bytes.
func validAccount(s string) bool {
	if len(s) > AccountMax || strings.TrimSpace(s) == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// payeeKey validates a request's payee: an alias (its type, and its
// value as the directory keys it) or an AccountType payee (typ "").
func (s *Service) payeeKey(payeeType, payeeValue string) (directory.Type, string, error) {
	if payeeType == AccountType {
		_, err := parseAccountPayee(payeeValue)
		return "", payeeValue, err
	}
	typ, err := directory.ParseType(payeeType)
	if err != nil {
		return "", "", fmt.Errorf("%w: payee type: %v", ErrInvalid, err)
	}
	value, err := directory.LookupKey(typ, payeeValue, s.cfg.Region)
	if err != nil {
		return "", "", fmt.Errorf("%w: payee value: %v", ErrInvalid, err)
	}
	return typ, value, nil
}

// payeeParty finds whom a payee key designates: the directory's party
// of an alias, or the named participant's account in currency c.
func (s *Service) payeeParty(ctx context.Context, typ directory.Type, value string, c money.Currency) (directory.Party, error) {
	if typ == "" {
		party, err := parseAccountPayee(value)
		party.Currency = c
		return party, err
	}
	party, err := s.Directory.Lookup(ctx, typ, value)
	if errors.Is(err, directory.ErrNotFound) {
		return party, ErrUnknownParty
	}
	return party, err
}

// payeeType is the record's payee type of a payee key's type: the
// constant, so that a record does not pin the request's string.
func payeeType(typ directory.Type) string {
	if typ == "" {
		return AccountType
	}
	return string(typ)
}

// SwitchPrefixes start the ids of transfers the switch makes itself:
// returns, scheduled mandate executions, dispute holds. A client may not
// choose such an id (ReservedID), lest it take one first.
var SwitchPrefixes = []string{ReturnPrefix, "mandate", "dispute:"}

// ReservedID reports whether id is one of the switch's own (see
// SwitchPrefixes), which the front ends refuse from clients.
func ReservedID(id string) bool {
	for _, p := range SwitchPrefixes {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}
