package fspiop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/participant"
)

// farNameMax bounds the name a far scheme gives for its user, in runes:
// it is shown masked to this switch's payers, and a far scheme is not
// trusted to keep it short.
const farNameMax = 140

// FarParty asks the scheme behind link (a participant of kind scheme)
// for the holder of the alias (t, value): GET /parties, answered by its
// PUT callback within the look-up timeout. It returns the holder's name
// masked (the far scheme's own masking, masked again here, so that a
// scheme that sends full names shows no more than this switch would), or
// an error wrapping directory.ErrNotFound when the far scheme does not
// know the alias, or directory.ErrLinkUnavailable when it cannot be
// asked or does not answer in time. Look-ups of one alias at once are
// asked once.
func (s *Server) FarParty(ctx context.Context, link string, t directory.Type, value string) (string, error) {
	p, ok := s.Participants.Get(link)
	if !ok || !isLink(p) || p.Status != participant.Active {
		return "", directory.ErrLinkUnavailable
	}
	id, err := msg.PartyOf(string(t), value)
	if err != nil {
		// An alias FSPIOP cannot name is not one the far scheme holds.
		return "", fmt.Errorf("%w: not an FSPIOP party", directory.ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.LookupTimeout)
	defer cancel()
	path := "/parties/" + url.PathEscape(id.PartyIDType) + "/" + url.PathEscape(id.PartyIdentifier)
	if id.PartySubIDOrType != "" {
		path += "/" + url.PathEscape(id.PartySubIDOrType)
	}
	r, err := s.ask(ctx, p, p.FSPIOP.LinkID, http.MethodGet, path, path, "parties", "1.1", nil)
	if err != nil {
		return "", fmt.Errorf("%w: %s", directory.ErrLinkUnavailable, r.reason(err))
	}
	if r.failed() {
		var e msg.ErrorBody
		// 3200-3299: the far scheme found no such party (or no FSP of
		// it); anything else is a failure to ask.
		if json.Unmarshal(r.body, &e) == nil && strings.HasPrefix(e.ErrorInformation.ErrorCode, "32") {
			return "", fmt.Errorf("%w at the far scheme", directory.ErrNotFound)
		}
		return "", fmt.Errorf("%w: %s", directory.ErrLinkUnavailable, r.reason(nil))
	}
	var found msg.PartiesPut
	if err := msg.Decode(r.body, &found); err != nil {
		return "", fmt.Errorf("%w: a malformed answer", directory.ErrLinkUnavailable)
	}
	return directory.MaskName(farName(&found.Party)), nil
}

// farName is the name a far scheme gave for its party: its name, or its
// complex name's parts, cut to farNameMax runes of printable text.
func farName(p *msg.Party) string {
	name := p.Name
	if name == "" && p.PersonalInfo != nil && p.PersonalInfo.ComplexName != nil {
		n := p.PersonalInfo.ComplexName
		name = strings.Join(strings.Fields(n.FirstName+" "+n.MiddleName+" "+n.LastName), " ")
	}
	var b strings.Builder
	n := 0
	for _, r := range name {
		if n == farNameMax {
			break
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// errLinkRegisters refuses a scheme link's registration of parties: the
// far scheme's users are reached through the operator's routes, and a
// link must not claim this switch's unregistered aliases.
var errLinkRegisters = msg.NewError(msg.AddPartyInfoError, "a scheme link registers no parties here")

// currencyMismatch refuses an FSPIOP payer's quote or prepare in another
// currency than the native payee's alias is registered in: FSPIOP 1.1
// has no foreign exchange, so the payee cannot take it.
func currencyMismatch(party directory.Party, currency string) error {
	if party.Currency.String() == currency {
		return nil
	}
	return msg.NewError(msg.PayeeUnsupportedCurr, "the payee takes "+party.Currency.String())
}
