package msg

import (
	"strconv"
	"unicode/utf8"
)

// Validation follows the Mojaloop switch (central-services-shared's
// OpenAPI validation): a missing required element is 3102 "Missing
// mandatory element - <path>"; a value of the wrong type, outside its
// enumeration or against its pattern is 3101 "Malformed syntax - <path>
// …"; a length or item count out of bounds is 3100 "Generic validation
// error - <path> …". When a body has both kinds of fault, the switch
// reports a 3101/3100 one before a missing element, as Mojaloop does. A
// path is the JSON path of the field: "payee.partyIdInfo.partyIdentifier",
// "partyList[2].fspId".
//
// Validate treats an empty string, nil pointer or empty slice as absent;
// Decode refuses an empty string or array that is present in the JSON,
// which no schema of v1.1 allows.

// checker keeps the first fault of each kind.
type checker struct {
	syntax  *Error // 3100 or 3101
	missing *Error // 3102
}

// pfx is the path of an object being checked, kept on the stack and
// spelled only for an error: a body carries dozens of fields and faults
// are rare.
type pfx struct {
	up    *pfx
	name  string
	index int // of an array element, or -1
}

// at returns the path of member name of p (p nil: the body).
func at(up *pfx, name string) pfx { return pfx{up: up, name: name, index: -1} }

// elem returns the path of element i of array name of up.
func elem(up *pfx, name string, i int) pfx { return pfx{up: up, name: name, index: i} }

func (p *pfx) join(name string) string {
	var b []byte
	var chain [16]*pfx
	n := 0
	for q := p; q != nil && n < len(chain); q = q.up {
		chain[n] = q
		n++
	}
	for i := n - 1; i >= 0; i-- {
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, chain[i].name...)
		if chain[i].index >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(chain[i].index), 10)
			b = append(b, ']')
		}
	}
	if name != "" {
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, name...)
	}
	return string(b)
}

func (c *checker) miss(p *pfx, name string) {
	if c.missing == nil {
		c.missing = &Error{Code: MissingElement, Detail: p.join(name)}
	}
}

func (c *checker) bad(code Code, p *pfx, name, why string) {
	if c.syntax == nil {
		c.syntax = &Error{Code: code, Detail: p.join(name) + " " + why}
	}
}

func (c *checker) err() error {
	if c.syntax != nil {
		return c.syntax
	}
	if c.missing != nil {
		return c.missing
	}
	return nil
}

// rule is the schema of a string field: a length in characters, and an
// enumeration or pattern (match) with its name for the message.
type rule struct {
	min, max int
	match    func(string) bool
	what     string
}

var (
	ruleCorrelationID = rule{match: IsCorrelationID, what: "must be a lower-case UUID (CorrelationId)"}
	ruleFspID         = rule{min: 1, max: 32}
	rule128           = rule{min: 1, max: 128}
	ruleExtKey        = rule{min: 1, max: 32}
	ruleAmount        = rule{match: IsAmount, what: "must match the pattern of Amount"}
	ruleCurrency      = rule{match: IsCurrency, what: "must be a currency of the Currency enum"}
	ruleDateTime      = rule{match: IsDateTime, what: "must be a DateTime with milliseconds (2006-01-02T15:04:05.000Z)"}
	ruleDate          = rule{match: IsDate, what: "must be a Date (2006-01-02)"}
	ruleCondition     = rule{match: IsILPCondition, what: "must be 43 base64url characters"}
	ruleILPPacket     = rule{min: 1, max: 32768, match: isILPPacketText, what: "must be base64url (IlpPacket)"}
	rulePartyIDType   = rule{match: IsPartyIDType, what: "must be a PartyIdType"}
	ruleAmountType    = rule{match: isAmountType, what: "must be SEND or RECEIVE"}
	ruleScenario      = rule{match: isScenario, what: "must be a TransactionScenario"}
	ruleSubScenario   = rule{match: isSubScenario, what: "must match ^[A-Z_]{1,32}$"}
	ruleInitiator     = rule{match: isInitiator, what: "must be PAYER or PAYEE"}
	ruleInitiatorType = rule{match: isInitiatorType, what: "must be a TransactionInitiatorType"}
	ruleBoP           = rule{match: isBalanceOfPayments, what: "must match ^[1-9]\\d{2}$"}
	ruleMCC           = rule{match: isMerchantCode, what: "must match ^[\\d]{1,4}$"}
	ruleName          = rule{min: 1, max: 128, match: IsName, what: "must match the pattern of a name"}
	ruleLatitude      = rule{match: IsLatitude, what: "must match the pattern of Latitude"}
	ruleLongitude     = rule{match: IsLongitude, what: "must match the pattern of Longitude"}
	ruleTransferState = rule{match: IsTransferState, what: "must be a TransferState"}
	ruleErrorCode     = rule{match: isErrorCode, what: "must match ^[1-9]\\d{3}$"}
)

// str checks one string field; "" is absent.
func (c *checker) str(p *pfx, name, v string, required bool, r rule) {
	if v == "" {
		if required {
			c.miss(p, name)
		}
		return
	}
	if r.match != nil && !r.match(v) {
		c.bad(MalformedSyntax, p, name, r.what)
		return
	}
	if r.max > 0 {
		// Lengths are in characters, never more than bytes: count them
		// only when the bytes exceed the limit. (Every minimum is 1, met
		// by any value that is present.)
		n := len(v)
		if n > r.max {
			n = utf8.RuneCountInString(v)
		}
		if n < r.min || n > r.max {
			c.bad(ValidationError, p, name, "must be "+strconv.Itoa(r.min)+" to "+strconv.Itoa(r.max)+" characters")
		}
	}
}

// items checks the length of a required array of at most max items.
func (c *checker) items(p *pfx, name string, n, max int) bool {
	if n == 0 {
		c.miss(p, name)
		return false
	}
	if n > max {
		c.bad(ValidationError, p, name, "must have at most "+strconv.Itoa(max)+" items")
		return false
	}
	return true
}

func (c *checker) money(up *pfx, name string, m *Money, required bool) {
	// An optional object is absent when nil; a required one (a value)
	// when it is all zero.
	if m == nil {
		return
	}
	if required && *m == (Money{}) {
		c.miss(up, name)
		return
	}
	q := at(up, name)
	c.moneyFields(&q, m)
}

func (c *checker) moneyFields(q *pfx, m *Money) {
	c.str(q, "currency", m.Currency, true, ruleCurrency)
	c.str(q, "amount", m.Amount, true, ruleAmount)
}

func (c *checker) extensions(up *pfx, l *ExtensionList) {
	if l == nil {
		return
	}
	q := at(up, "extensionList")
	if !c.items(&q, "extension", len(l.Extension), 16) {
		return
	}
	for i := range l.Extension {
		e := &l.Extension[i]
		r := elem(&q, "extension", i)
		c.str(&r, "key", e.Key, true, ruleExtKey)
		c.str(&r, "value", e.Value, true, rule128)
	}
}

func (c *checker) partyIDInfo(up *pfx, name string, index int, p *PartyIDInfo) {
	q := pfx{up: up, name: name, index: index}
	if *p == (PartyIDInfo{}) {
		c.miss(&q, "")
		return
	}
	c.partyIDInfoFields(&q, p)
}

func (c *checker) partyIDInfoFields(q *pfx, p *PartyIDInfo) {
	c.str(q, "partyIdType", p.PartyIDType, true, rulePartyIDType)
	c.str(q, "partyIdentifier", p.PartyIdentifier, true, rule128)
	c.str(q, "partySubIdOrType", p.PartySubIDOrType, false, rule128)
	c.str(q, "fspId", p.FSPID, false, ruleFspID)
	c.extensions(q, p.ExtensionList)
}

func (c *checker) party(up *pfx, name string, p *Party) {
	if *p == (Party{}) {
		c.miss(up, name)
		return
	}
	q := at(up, name)
	c.partyFields(&q, p)
}

func (c *checker) partyFields(q *pfx, p *Party) {
	c.partyIDInfo(q, "partyIdInfo", -1, &p.PartyIDInfo)
	c.str(q, "merchantClassificationCode", p.MerchantClassificationCode, false, ruleMCC)
	c.str(q, "name", p.Name, false, rule128)
	if pi := p.PersonalInfo; pi != nil {
		r := at(q, "personalInfo")
		if cn := pi.ComplexName; cn != nil {
			s := at(&r, "complexName")
			c.str(&s, "firstName", cn.FirstName, false, ruleName)
			c.str(&s, "middleName", cn.MiddleName, false, ruleName)
			c.str(&s, "lastName", cn.LastName, false, ruleName)
		}
		c.str(&r, "dateOfBirth", pi.DateOfBirth, false, ruleDate)
	}
}

func (c *checker) transactionType(up *pfx, name string, t *TransactionType) {
	if *t == (TransactionType{}) {
		c.miss(up, name)
		return
	}
	q := at(up, name)
	c.transactionTypeFields(&q, t)
}

func (c *checker) transactionTypeFields(q *pfx, t *TransactionType) {
	c.str(q, "scenario", t.Scenario, true, ruleScenario)
	c.str(q, "subScenario", t.SubScenario, false, ruleSubScenario)
	c.str(q, "initiator", t.Initiator, true, ruleInitiator)
	c.str(q, "initiatorType", t.InitiatorType, true, ruleInitiatorType)
	if r := t.RefundInfo; r != nil {
		s := at(q, "refundInfo")
		c.str(&s, "originalTransactionId", r.OriginalTransactionID, true, ruleCorrelationID)
		c.str(&s, "refundReason", r.RefundReason, false, rule128)
	}
	c.str(q, "balanceOfPayments", t.BalanceOfPayments, false, ruleBoP)
}

func (c *checker) geoCode(up *pfx, g *GeoCode) {
	if g == nil {
		return
	}
	q := at(up, "geoCode")
	c.str(&q, "latitude", g.Latitude, true, ruleLatitude)
	c.str(&q, "longitude", g.Longitude, true, ruleLongitude)
}

func (c *checker) errorInformation(up *pfx, name string, e *ErrorInformation, required bool) {
	if e == nil {
		return
	}
	if required && e.ErrorCode == "" && e.ErrorDescription == "" && e.ExtensionList == nil {
		c.miss(up, name)
		return
	}
	q := at(up, name)
	c.errorInformationFields(&q, e)
}

func (c *checker) errorInformationFields(q *pfx, e *ErrorInformation) {
	c.str(q, "errorCode", e.ErrorCode, true, ruleErrorCode)
	c.str(q, "errorDescription", e.ErrorDescription, true, rule128)
	c.extensions(q, e.ExtensionList)
}

// Validate checks m against Money.
func (m *Money) Validate() error {
	var c checker
	c.str(nil, "currency", m.Currency, true, ruleCurrency)
	c.str(nil, "amount", m.Amount, true, ruleAmount)
	return c.err()
}

// Validate checks p against PartyIdInfo.
func (p *PartyIDInfo) Validate() error {
	var c checker
	c.str(nil, "partyIdType", p.PartyIDType, true, rulePartyIDType)
	c.str(nil, "partyIdentifier", p.PartyIdentifier, true, rule128)
	c.str(nil, "partySubIdOrType", p.PartySubIDOrType, false, rule128)
	c.str(nil, "fspId", p.FSPID, false, ruleFspID)
	c.extensions(nil, p.ExtensionList)
	return c.err()
}

// Validate checks p against Party.
func (p *Party) Validate() error {
	var c checker
	c.partyFields(nil, p)
	return c.err()
}

// Validate checks b against PartiesTypeIDPutResponse.
func (b *PartiesPut) Validate() error {
	var c checker
	c.party(nil, "party", &b.Party)
	return c.err()
}

// Validate checks b against ParticipantsTypeIDSubIDPostRequest.
func (b *ParticipantsPost) Validate() error {
	var c checker
	c.str(nil, "fspId", b.FSPID, true, ruleFspID)
	c.str(nil, "currency", b.Currency, false, ruleCurrency)
	c.extensions(nil, b.ExtensionList)
	return c.err()
}

// Validate checks b against ParticipantsTypeIDPutResponse.
func (b *ParticipantsPut) Validate() error {
	var c checker
	c.str(nil, "fspId", b.FSPID, false, ruleFspID)
	return c.err()
}

// MaxPartyList is the most parties of a bulk registration.
const MaxPartyList = 10000

// Validate checks b against ParticipantsPostRequest.
func (b *ParticipantsBulkPost) Validate() error {
	var c checker
	c.str(nil, "requestId", b.RequestID, true, ruleCorrelationID)
	if c.items(nil, "partyList", len(b.PartyList), MaxPartyList) {
		for i := range b.PartyList {
			c.partyIDInfo(nil, "partyList", i, &b.PartyList[i])
			if c.syntax != nil {
				break
			}
		}
	}
	c.str(nil, "currency", b.Currency, false, ruleCurrency)
	return c.err()
}

// Validate checks b against ParticipantsIDPutResponse.
func (b *ParticipantsBulkPut) Validate() error {
	var c checker
	if c.items(nil, "partyList", len(b.PartyList), MaxPartyList) {
		for i := range b.PartyList {
			p := elem(nil, "partyList", i)
			c.partyIDInfo(&p, "partyId", -1, &b.PartyList[i].PartyID)
			c.errorInformation(&p, "errorInformation", b.PartyList[i].ErrorInformation, false)
			if c.syntax != nil {
				break
			}
		}
	}
	c.str(nil, "currency", b.Currency, false, ruleCurrency)
	return c.err()
}

// Validate checks t against TransactionType.
func (t *TransactionType) Validate() error {
	var c checker
	c.transactionTypeFields(nil, t)
	return c.err()
}

// Validate checks b against QuotesPostRequest.
func (b *QuotesPost) Validate() error {
	var c checker
	c.str(nil, "quoteId", b.QuoteID, true, ruleCorrelationID)
	c.str(nil, "transactionId", b.TransactionID, true, ruleCorrelationID)
	c.str(nil, "transactionRequestId", b.TransactionRequestID, false, ruleCorrelationID)
	c.party(nil, "payee", &b.Payee)
	c.party(nil, "payer", &b.Payer)
	c.str(nil, "amountType", b.AmountType, true, ruleAmountType)
	c.money(nil, "amount", &b.Amount, true)
	c.money(nil, "fees", b.Fees, false)
	c.transactionType(nil, "transactionType", &b.TransactionType)
	c.geoCode(nil, b.GeoCode)
	c.str(nil, "note", b.Note, false, rule128)
	c.str(nil, "expiration", b.Expiration, false, ruleDateTime)
	c.extensions(nil, b.ExtensionList)
	return c.err()
}

// Validate checks b against QuotesIDPutResponse.
func (b *QuotesPut) Validate() error {
	var c checker
	c.money(nil, "transferAmount", &b.TransferAmount, true)
	c.money(nil, "payeeReceiveAmount", b.PayeeReceiveAmount, false)
	c.money(nil, "payeeFspFee", b.PayeeFSPFee, false)
	c.money(nil, "payeeFspCommission", b.PayeeFSPCommission, false)
	c.str(nil, "expiration", b.Expiration, true, ruleDateTime)
	c.geoCode(nil, b.GeoCode)
	c.str(nil, "ilpPacket", b.ILPPacket, true, ruleILPPacket)
	c.str(nil, "condition", b.Condition, true, ruleCondition)
	c.extensions(nil, b.ExtensionList)
	return c.err()
}

// Validate checks b against TransfersPostRequest.
func (b *TransfersPost) Validate() error {
	var c checker
	c.str(nil, "transferId", b.TransferID, true, ruleCorrelationID)
	c.str(nil, "payeeFsp", b.PayeeFSP, true, ruleFspID)
	c.str(nil, "payerFsp", b.PayerFSP, true, ruleFspID)
	c.money(nil, "amount", &b.Amount, true)
	c.str(nil, "ilpPacket", b.ILPPacket, true, ruleILPPacket)
	c.str(nil, "condition", b.Condition, true, ruleCondition)
	c.str(nil, "expiration", b.Expiration, true, ruleDateTime)
	c.extensions(nil, b.ExtensionList)
	return c.err()
}

// Validate checks b against TransfersIDPutResponse.
func (b *TransfersPut) Validate() error {
	var c checker
	c.str(nil, "fulfilment", b.Fulfilment, false, ruleCondition)
	c.str(nil, "completedTimestamp", b.CompletedTimestamp, false, ruleDateTime)
	c.str(nil, "transferState", b.TransferState, true, ruleTransferState)
	c.extensions(nil, b.ExtensionList)
	return c.err()
}

// Validate checks b against TransfersIDPatchResponse.
func (b *TransfersPatch) Validate() error {
	var c checker
	c.str(nil, "completedTimestamp", b.CompletedTimestamp, true, ruleDateTime)
	c.str(nil, "transferState", b.TransferState, true, ruleTransferState)
	c.extensions(nil, b.ExtensionList)
	return c.err()
}

// Validate checks t against Transaction (the ILP packet's data), with
// its Expiration a DateTime when present.
func (t *Transaction) Validate() error {
	var c checker
	c.str(nil, "transactionId", t.TransactionID, true, ruleCorrelationID)
	c.str(nil, "quoteId", t.QuoteID, true, ruleCorrelationID)
	c.party(nil, "payee", &t.Payee)
	c.party(nil, "payer", &t.Payer)
	c.money(nil, "amount", &t.Amount, true)
	c.transactionType(nil, "transactionType", &t.TransactionType)
	c.str(nil, "note", t.Note, false, rule128)
	c.str(nil, "expiration", t.Expiration, false, ruleDateTime)
	c.extensions(nil, t.ExtensionList)
	return c.err()
}

// Validate checks e against ErrorInformation.
func (e *ErrorInformation) Validate() error {
	var c checker
	c.str(nil, "errorCode", e.ErrorCode, true, ruleErrorCode)
	c.str(nil, "errorDescription", e.ErrorDescription, true, rule128)
	c.extensions(nil, e.ExtensionList)
	return c.err()
}

// Validate checks b against ErrorInformationObject (the body of an error
// callback, whose errorInformation is required).
func (b *ErrorBody) Validate() error {
	var c checker
	c.errorInformation(nil, "errorInformation", &b.ErrorInformation, true)
	return c.err()
}
