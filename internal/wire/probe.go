package wire

// ConformanceProbe is the answer of a participant's conformance probe,
// GET {callbackUrl}/conformance/transfers/{id} signed with the callback
// secret over its URL path (docs/conformance.md): how many times the
// participant booked incoming transfer TransferID as a credit, and what
// it credited. A participant that credits each transfer once by its id
// answers Credits 1 however often the switch delivered it.
type ConformanceProbe struct {
	TransferID string `json:"transferId"`
	Credits    int64  `json:"credits"`
	Amount     string `json:"amount"`
	Currency   string `json:"currency"`
}
