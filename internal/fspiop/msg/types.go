package msg

// The bodies of FSPIOP v1.1 (schemas of components.schemas in the
// definition; the comment of each type names its schema). Required
// objects are values and optional ones pointers, so that a missing
// optional object can be told from an empty one; optional strings are
// omitted when empty, since no string of the specification may be empty.
// Field order is the specification's.

// Values of the enumerations.
const (
	// PartyIdType values.
	MSISDN     = "MSISDN"
	EMAIL      = "EMAIL"
	PersonalID = "PERSONAL_ID"
	Business   = "BUSINESS"
	Device     = "DEVICE"
	AccountID  = "ACCOUNT_ID"
	IBAN       = "IBAN"
	Alias      = "ALIAS"

	// AmountType values.
	AmountSend    = "SEND"
	AmountReceive = "RECEIVE"

	// TransactionScenario values.
	ScenarioDeposit    = "DEPOSIT"
	ScenarioWithdrawal = "WITHDRAWAL"
	ScenarioTransfer   = "TRANSFER"
	ScenarioPayment    = "PAYMENT"
	ScenarioRefund     = "REFUND"

	// TransactionInitiator values.
	InitiatorPayer = "PAYER"
	InitiatorPayee = "PAYEE"

	// TransactionInitiatorType values.
	InitiatorConsumer = "CONSUMER"
	InitiatorAgent    = "AGENT"
	InitiatorBusiness = "BUSINESS"
	InitiatorDevice   = "DEVICE"

	// TransferState values.
	StateReceived  = "RECEIVED"
	StateReserved  = "RESERVED"
	StateCommitted = "COMMITTED"
	StateAborted   = "ABORTED"
)

// Money is an amount of a currency (Money): the amount a decimal string
// in the major unit, without trailing zeros ("100.5"); see ParseAmount.
type Money struct {
	Currency string `json:"currency" fspiop:"pattern"`
	Amount   string `json:"amount" fspiop:"pattern"`
}

// Extension is one key-value pair of an extension list (Extension).
type Extension struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ExtensionList carries 1 to 16 extensions (ExtensionList).
type ExtensionList struct {
	Extension []Extension `json:"extension"`
}

// PartyIDInfo identifies a party (PartyIdInfo).
type PartyIDInfo struct {
	PartyIDType      string         `json:"partyIdType" fspiop:"pattern"`
	PartyIdentifier  string         `json:"partyIdentifier"`
	PartySubIDOrType string         `json:"partySubIdOrType,omitempty"`
	FSPID            string         `json:"fspId,omitempty"`
	ExtensionList    *ExtensionList `json:"extensionList,omitempty"`
}

// ComplexName is a party's name in parts (PartyComplexName).
type ComplexName struct {
	FirstName  string `json:"firstName,omitempty" fspiop:"pattern"`
	MiddleName string `json:"middleName,omitempty" fspiop:"pattern"`
	LastName   string `json:"lastName,omitempty" fspiop:"pattern"`
}

// PersonalInfo is a party's personal information (PartyPersonalInfo).
type PersonalInfo struct {
	ComplexName *ComplexName `json:"complexName,omitempty"`
	DateOfBirth string       `json:"dateOfBirth,omitempty" fspiop:"pattern"`
}

// Party is a payer or payee (Party). Name has no pattern, so a masked
// name ("J*** D***") goes there, never in PersonalInfo.
type Party struct {
	PartyIDInfo                PartyIDInfo   `json:"partyIdInfo"`
	MerchantClassificationCode string        `json:"merchantClassificationCode,omitempty" fspiop:"pattern"`
	Name                       string        `json:"name,omitempty"`
	PersonalInfo               *PersonalInfo `json:"personalInfo,omitempty"`
}

// PartiesPut is the body of PUT /parties/{Type}/{ID}[/{SubId}]
// (PartiesTypeIDPutResponse).
type PartiesPut struct {
	Party Party `json:"party"`
}

// ParticipantsPost is the body of POST /participants/{Type}/{ID}[/{SubId}]
// (ParticipantsTypeIDSubIDPostRequest).
type ParticipantsPost struct {
	FSPID         string         `json:"fspId"`
	Currency      string         `json:"currency,omitempty" fspiop:"pattern"`
	ExtensionList *ExtensionList `json:"extensionList,omitempty"`
}

// ParticipantsPut is the body of PUT /participants/{Type}/{ID}[/{SubId}]
// (ParticipantsTypeIDPutResponse); FSPID is absent in the answer to a
// DELETE or to a look-up that found nobody.
type ParticipantsPut struct {
	FSPID string `json:"fspId,omitempty"`
}

// ParticipantsBulkPost is the body of POST /participants
// (ParticipantsPostRequest).
type ParticipantsBulkPost struct {
	RequestID string        `json:"requestId" fspiop:"pattern"`
	PartyList []PartyIDInfo `json:"partyList"`
	Currency  string        `json:"currency,omitempty" fspiop:"pattern"`
}

// PartyResult is one party's outcome in a bulk registration
// (PartyResult).
type PartyResult struct {
	PartyID          PartyIDInfo       `json:"partyId"`
	ErrorInformation *ErrorInformation `json:"errorInformation,omitempty"`
}

// ParticipantsBulkPut is the body of PUT /participants/{ID}
// (ParticipantsIDPutResponse): one result per submitted party.
type ParticipantsBulkPut struct {
	PartyList []PartyResult `json:"partyList"`
	Currency  string        `json:"currency,omitempty" fspiop:"pattern"`
}

// RefundInfo refers to the transaction a refund returns (Refund).
type RefundInfo struct {
	OriginalTransactionID string `json:"originalTransactionId" fspiop:"pattern"`
	RefundReason          string `json:"refundReason,omitempty"`
}

// TransactionType says what kind of transaction a quote or transfer is
// (TransactionType).
type TransactionType struct {
	Scenario          string      `json:"scenario" fspiop:"pattern"`
	SubScenario       string      `json:"subScenario,omitempty" fspiop:"pattern"`
	Initiator         string      `json:"initiator" fspiop:"pattern"`
	InitiatorType     string      `json:"initiatorType" fspiop:"pattern"`
	RefundInfo        *RefundInfo `json:"refundInfo,omitempty"`
	BalanceOfPayments string      `json:"balanceOfPayments,omitempty" fspiop:"pattern"`
}

// GeoCode is a position in decimal degrees, as strings (GeoCode).
type GeoCode struct {
	Latitude  string `json:"latitude" fspiop:"pattern"`
	Longitude string `json:"longitude" fspiop:"pattern"`
}

// QuotesPost is the body of POST /quotes (QuotesPostRequest).
type QuotesPost struct {
	QuoteID              string          `json:"quoteId" fspiop:"pattern"`
	TransactionID        string          `json:"transactionId" fspiop:"pattern"`
	TransactionRequestID string          `json:"transactionRequestId,omitempty" fspiop:"pattern"`
	Payee                Party           `json:"payee"`
	Payer                Party           `json:"payer"`
	AmountType           string          `json:"amountType" fspiop:"pattern"`
	Amount               Money           `json:"amount"`
	Fees                 *Money          `json:"fees,omitempty"`
	TransactionType      TransactionType `json:"transactionType"`
	GeoCode              *GeoCode        `json:"geoCode,omitempty"`
	Note                 string          `json:"note,omitempty"`
	Expiration           string          `json:"expiration,omitempty" fspiop:"pattern"`
	ExtensionList        *ExtensionList  `json:"extensionList,omitempty"`
}

// QuotesPut is the body of PUT /quotes/{ID} (QuotesIDPutResponse).
type QuotesPut struct {
	TransferAmount     Money          `json:"transferAmount"`
	PayeeReceiveAmount *Money         `json:"payeeReceiveAmount,omitempty"`
	PayeeFSPFee        *Money         `json:"payeeFspFee,omitempty"`
	PayeeFSPCommission *Money         `json:"payeeFspCommission,omitempty"`
	Expiration         string         `json:"expiration" fspiop:"pattern"`
	GeoCode            *GeoCode       `json:"geoCode,omitempty"`
	ILPPacket          string         `json:"ilpPacket" fspiop:"pattern"`
	Condition          string         `json:"condition" fspiop:"pattern"`
	ExtensionList      *ExtensionList `json:"extensionList,omitempty"`
}

// TransfersPost is the body of POST /transfers (TransfersPostRequest).
type TransfersPost struct {
	TransferID    string         `json:"transferId" fspiop:"pattern"`
	PayeeFSP      string         `json:"payeeFsp"`
	PayerFSP      string         `json:"payerFsp"`
	Amount        Money          `json:"amount"`
	ILPPacket     string         `json:"ilpPacket" fspiop:"pattern"`
	Condition     string         `json:"condition" fspiop:"pattern"`
	Expiration    string         `json:"expiration" fspiop:"pattern"`
	ExtensionList *ExtensionList `json:"extensionList,omitempty"`
}

// TransfersPut is the body of PUT /transfers/{ID}
// (TransfersIDPutResponse): a payee's fulfilment, or the switch's answer
// to GET /transfers/{ID}.
type TransfersPut struct {
	Fulfilment         string         `json:"fulfilment,omitempty" fspiop:"pattern"`
	CompletedTimestamp string         `json:"completedTimestamp,omitempty" fspiop:"pattern"`
	TransferState      string         `json:"transferState" fspiop:"pattern"`
	ExtensionList      *ExtensionList `json:"extensionList,omitempty"`
}

// TransfersPatch is the body of PATCH /transfers/{ID}
// (TransfersIDPatchResponse): the switch's commit notice to a payee that
// answered RESERVED.
type TransfersPatch struct {
	CompletedTimestamp string         `json:"completedTimestamp" fspiop:"pattern"`
	TransferState      string         `json:"transferState" fspiop:"pattern"`
	ExtensionList      *ExtensionList `json:"extensionList,omitempty"`
}

// Transaction is the transaction object carried in the ILP packet's data
// (Transaction), with the Expiration that Mojaloop's SDK adds (the
// quote's expiration) and Amount = the quote's transferAmount.
type Transaction struct {
	TransactionID   string          `json:"transactionId" fspiop:"pattern"`
	QuoteID         string          `json:"quoteId" fspiop:"pattern"`
	Payee           Party           `json:"payee"`
	Payer           Party           `json:"payer"`
	Amount          Money           `json:"amount"`
	TransactionType TransactionType `json:"transactionType"`
	Note            string          `json:"note,omitempty"`
	Expiration      string          `json:"expiration,omitempty" fspiop:"pattern"`
	ExtensionList   *ExtensionList  `json:"extensionList,omitempty"`
}

// ErrorInformation is an error's code and description
// (ErrorInformation); make it with (*Error).Info.
type ErrorInformation struct {
	ErrorCode        string         `json:"errorCode" fspiop:"pattern"`
	ErrorDescription string         `json:"errorDescription"`
	ExtensionList    *ExtensionList `json:"extensionList,omitempty"`
}

// ErrorBody is the body of PUT …/error callbacks (ErrorInformationObject)
// and of synchronous error answers (ErrorInformationResponse).
type ErrorBody struct {
	ErrorInformation ErrorInformation `json:"errorInformation"`
}
