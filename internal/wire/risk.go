package wire

import "time"

// RiskRule is a risk rule: the body of PUT /v1/risk/rules/{id} (id,
// createdAt and updatedAt are the answer's), and the answer.
type RiskRule struct {
	ID          string    `json:"id,omitempty"`
	Expression  string    `json:"expression"`
	Action      string    `json:"action"`
	Reason      string    `json:"reason"`
	Mode        string    `json:"mode"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt,omitzero"`
	UpdatedAt   time.Time `json:"updatedAt,omitzero"`
}

// RiskRules is the answer of GET /v1/risk/rules.
type RiskRules struct {
	Rules []RiskRule `json:"rules"`
}

// RiskListItems is the body of PUT /v1/risk/lists/{name} and POST
// /v1/risk/lists/{name}/items.
type RiskListItems struct {
	Items []string `json:"items"`
}

// RiskList is an operator's list.
type RiskList struct {
	Name  string   `json:"name"`
	Items []string `json:"items"`
}

// RiskLists is the answer of GET /v1/risk/lists: the lists' names.
type RiskLists struct {
	Lists []string `json:"lists"`
}

// RiskFeature is one of the anomaly model's top contributions to a score.
type RiskFeature struct {
	Name         string  `json:"name"`
	Contribution float64 `json:"contribution"`
	Detail       string  `json:"detail,omitempty"`
}

// RiskAlert is an alert of risk control.
type RiskAlert struct {
	ID         string        `json:"id"`
	TransferID string        `json:"transferId"`
	Payer      string        `json:"payer"`
	Payee      string        `json:"payee"`
	Rule       string        `json:"rule"`
	Action     string        `json:"action"`
	Reason     string        `json:"reason"`
	Mode       string        `json:"mode"`
	Held       bool          `json:"held"`
	Score      float64       `json:"score"`
	Features   []RiskFeature `json:"features"`
	Status     string        `json:"status"`
	Decision   string        `json:"decision,omitempty"`
	Note       string        `json:"note,omitempty"`
	CreatedAt  time.Time     `json:"createdAt"`
	DecidedAt  time.Time     `json:"decidedAt,omitzero"`
}

// RiskAlerts is a page of alerts; Next, when present, is the value of
// since for the next page.
type RiskAlerts struct {
	Alerts []RiskAlert `json:"alerts"`
	Next   string      `json:"next,omitempty"`
}

// AlertDecision is the body of POST /v1/risk/alerts/{id}/decision.
type AlertDecision struct {
	Decision string `json:"decision"`
	Note     string `json:"note,omitempty"`
}

// AlertDecided is the answer of a decision: the alert, closed, and the
// transfer it held, as the decision left it.
type AlertDecided struct {
	Alert    RiskAlert `json:"alert"`
	Transfer *Transfer `json:"transfer,omitempty"`
}

// NewFraudReport is the body of POST /v1/risk/fraud-reports.
type NewFraudReport struct {
	TransferID string `json:"transferId"`
	Reason     string `json:"reason"`
	Detail     string `json:"detail,omitempty"`
}

// FraudReport is a fraud report.
type FraudReport struct {
	ID         string    `json:"id"`
	TransferID string    `json:"transferId"`
	Reporter   string    `json:"reporter"`
	Alias      PayeeRef  `json:"alias"`
	Reason     string    `json:"reason"`
	Detail     string    `json:"detail,omitempty"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"createdAt"`
}
