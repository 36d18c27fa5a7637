// Package msg owns the wire vocabulary of Mojaloop's FSP
// Interoperability API (FSPIOP) v1.1 as the Hulian switch and its
// simulated DFSPs speak it: the bodies of every request and callback
// the switch receives or sends, their validation against the
// definition's schemas, the error codes and error bodies, the headers,
// content types and versions, dates, amounts, and the mapping between
// FSPIOP party identifiers and Hulian's directory aliases.
//
// It imports only the standard library, internal/money's conventions
// (amounts are int64 minor units at a currency's exponent) and
// internal/fault, so that a participant's side can use it without
// linking the switch. It does no I/O and reads no clock.
//
// # Validation
//
// Decode reads a body and validates it; each body type's Validate checks
// every required element, pattern, enumeration and length of the v1.1
// definition, with Mojaloop's codes: 3102 for a missing element, 3101
// for a wrong type, enumeration value or pattern, 3100 for a length or
// an item count (see validate.go). Errors are *Error values: a Code and
// a detail that names the JSON path ("3102 Missing mandatory element -
// payee.partyIdInfo.partyIdentifier"); Info turns one into the
// errorInformation of a callback or answer.
//
// # Party identifiers and Hulian aliases
//
// AliasOf and PartyOf map between FSPIOP's PartyIdType and Hulian's
// alias types by this table:
//
//	FSPIOP {Type}         {SubId}                                   Hulian alias   value
//	MSISDN                none                                      MSISDN         "+" and the digits ("27713803912" → "+27713803912")
//	EMAIL                 none                                      EMAIL          as given (the directory lower-cases)
//	PERSONAL_ID           none, NATIONAL_REGISTRATION, NATIONAL_ID_CARD  NATIONAL_ID  as given
//	ACCOUNT_ID            none                                      WALLET         as given (a participant-issued handle)
//	ALIAS                 none                                      RANDOM         as given (a UUID key that hides the user)
//	BUSINESS, DEVICE, IBAN, other PERSONAL_ID documents, any other SubId   refused: 3200
//
// PartyOf writes the reverse: an MSISDN without its '+', NATIONAL_ID as
// PERSONAL_ID without a sub-type. A PUT /parties answer must still echo
// the identifier exactly as the GET path had it (Mojaloop's SDK compares
// the strings); the caller keeps the path's spelling for that.
//
// # Versions
//
// Content-Type versions 1.0 and 1.1 are accepted; Accept may name 1, 1.0
// or 1.1 or no version. The switch starts messages at DefaultVersion
// (1.1) and answers a peer in the version it used.
package msg
