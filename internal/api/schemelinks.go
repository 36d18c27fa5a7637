package api

import (
	"fmt"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/participant"
)

// errLinkAliases refuses a scheme link's alias registrations and claims:
// a link stands for another scheme, whose users' aliases are registered
// there and reached through the operator's routes. An alias registered
// here by a link would win over every route — a link could take a local
// user's number, or any number not registered yet.
var errLinkAliases = fmt.Errorf("%w: a scheme link registers and claims no aliases: its scheme's users are reached through the operator's routes", auth.ErrForbidden)

// linkOwnsNoAliases reports whether owner may register or claim aliases:
// any participant but a scheme link.
func linkOwnsNoAliases(owner participant.Participant) error {
	if owner.Kind == participant.Scheme {
		return errLinkAliases
	}
	return nil
}
