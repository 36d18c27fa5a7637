package msg

import "strings"

// Directory alias types of Hulian (internal/directory.Type), by name: this
// package does not import the directory, so that a participant's side can
// use it without linking the switch.
const (
	HulianMSISDN     = "MSISDN"
	HulianEMAIL      = "EMAIL"
	HulianNationalID = "NATIONAL_ID"
	HulianRandom     = "RANDOM"
	HulianWallet     = "WALLET"
	// HulianAccount is a participant's account named without an alias
	// (transfer.AccountType).
	HulianAccount = "ACCOUNT"
)

// AliasOf maps an FSPIOP party identifier (the {Type}, {ID} and {SubId}
// of a path, or a PartyIdInfo) to the Hulian directory alias it names,
// by the table of the package documentation. The value is not
// normalized beyond the MSISDN's '+': the directory does that, and
// refuses what it cannot read.
//
// A type Hulian has no alias for (BUSINESS, DEVICE, IBAN), a PERSONAL_ID
// of a document other than a national identity card or registration,
// and a sub-identifier on any other type are refused with 3200 "Generic
// ID not found": no such party can exist in the directory (for a
// registration the caller answers 3003 instead). An MSISDN that is not
// an international number's digits is 3100.
func AliasOf(typ, id, sub string) (hulianType, value string, err error) {
	if id == "" {
		return "", "", &Error{Code: MissingElement, Detail: "partyIdentifier"}
	}
	switch typ {
	case PersonalID:
		switch sub {
		case "", "NATIONAL_REGISTRATION", "NATIONAL_ID_CARD":
			return HulianNationalID, id, nil
		}
		return "", "", &Error{Code: IDNotFound, Detail: "PERSONAL_ID of type " + clip(sub) + " is not served by this switch"}
	case MSISDN, EMAIL, AccountID, Alias:
	case Business, Device, IBAN:
		return "", "", &Error{Code: IDNotFound, Detail: "party id type " + typ + " is not served by this switch"}
	default:
		return "", "", &Error{Code: MalformedSyntax, Detail: "partyIdType " + rulePartyIDType.what}
	}
	if sub != "" {
		return "", "", &Error{Code: IDNotFound, Detail: "sub-identifiers of " + typ + " are not served by this switch"}
	}
	switch typ {
	case MSISDN:
		digits := strings.TrimPrefix(id, "+")
		if !allDigits(digits, 1, 15, true) {
			return "", "", &Error{Code: ValidationError, Detail: "MSISDN must be an international number's digits"}
		}
		return HulianMSISDN, "+" + digits, nil
	case EMAIL:
		return HulianEMAIL, id, nil
	case AccountID:
		return HulianWallet, id, nil
	default: // Alias
		return HulianRandom, id, nil
	}
}

// clip keeps a peer's string short and valid UTF-8 for an error
// description.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > 32 {
		return truncate(s, 32) + "…"
	}
	return s
}

// PartyOf renders a Hulian directory alias as FSPIOP writes it, the
// reverse of AliasOf: the MSISDN without its '+' ("+27713803912" →
// MSISDN "27713803912"), a NATIONAL_ID as PERSONAL_ID without a
// sub-type. Only PartyIDType and PartyIdentifier are set. An unknown
// type is 3200.
func PartyOf(hulianType, value string) (PartyIDInfo, error) {
	var typ string
	switch hulianType {
	case HulianMSISDN:
		typ, value = MSISDN, strings.TrimPrefix(value, "+")
	case HulianEMAIL:
		typ = EMAIL
	case HulianNationalID:
		typ = PersonalID
	case HulianWallet:
		typ = AccountID
	case HulianRandom:
		typ = Alias
	case HulianAccount:
		// participant/account: the account at the payee FSP.
		typ = AccountID
		if _, acct, ok := strings.Cut(value, "/"); ok {
			value = acct
		}
	default:
		return PartyIDInfo{}, &Error{Code: IDNotFound, Detail: "alias type " + clip(hulianType) + " has no FSPIOP party id type"}
	}
	return PartyIDInfo{PartyIDType: typ, PartyIdentifier: value}, nil
}
