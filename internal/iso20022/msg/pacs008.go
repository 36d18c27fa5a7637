package msg

import (
	"encoding/xml"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The wire form of pacs.008.001.09, limited to the modelled elements and
// in the XSD's order (Marshal writes fields in declaration order).
type pacs008 struct {
	XMLName xml.Name     `xml:"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09 Document"`
	Msg     []pacs008Trf `xml:"FIToFICstmrCdtTrf"`
}

type pacs008Trf struct {
	GrpHdr      []grpHdrTxs `xml:"GrpHdr"`
	CdtTrfTxInf []cdtTrfTx  `xml:"CdtTrfTxInf"`
}

// grpHdrTxs is GroupHeader93 (pacs.008) and GroupHeader90 (pacs.004):
// the same modelled elements in the same order.
type grpHdrTxs struct {
	MsgID    []string   `xml:"MsgId"`
	CreDtTm  []string   `xml:"CreDtTm"`
	NbOfTxs  []string   `xml:"NbOfTxs"`
	SttlmInf []sttlmInf `xml:"SttlmInf"`
}

type sttlmInf struct {
	SttlmMtd []string `xml:"SttlmMtd"`
}

type cdtTrfTx struct {
	PmtID          []pmtID    `xml:"PmtId"`
	IntrBkSttlmAmt []amt      `xml:"IntrBkSttlmAmt"`
	InstdAmt       []amt      `xml:"InstdAmt"`
	XchgRate       []string   `xml:"XchgRate"`
	ChrgBr         []string   `xml:"ChrgBr"`
	Dbtr           []party    `xml:"Dbtr"`
	DbtrAgt        []agent    `xml:"DbtrAgt"`
	CdtrAgt        []agent    `xml:"CdtrAgt"`
	Cdtr           []party    `xml:"Cdtr"`
	CdtrAcct       []cashAcct `xml:"CdtrAcct"`
	Purp           []purp     `xml:"Purp"`
	RmtInf         []rmtInf   `xml:"RmtInf"`
}

// purp is Purpose2Choice, of which the switch models the code.
type purp struct {
	Cd []string `xml:"Cd"`
}

type pmtID struct {
	InstrID    []string `xml:"InstrId"`
	EndToEndID []string `xml:"EndToEndId"`
	TxID       []string `xml:"TxId"`
}

// party is PartyIdentification135; every element is optional, so an
// empty <Dbtr/> is valid.
type party struct {
	Nm []string `xml:"Nm"`
}

// agent is BranchAndFinancialInstitutionIdentification6.
type agent struct {
	FinInstnID []finInstnID `xml:"FinInstnId"`
}

type finInstnID struct {
	Othr []othrID `xml:"Othr"`
}

type othrID struct {
	ID []string `xml:"Id"`
}

// cashAcct is CashAccount38 and CashAccount39 (Ccy is only written in
// statements).
type cashAcct struct {
	ID   []acctID    `xml:"Id"`
	Ccy  []string    `xml:"Ccy"`
	Prxy []proxyAcct `xml:"Prxy"`
}

type acctID struct {
	IBAN []string   `xml:"IBAN"`
	Othr []acctOthr `xml:"Othr"`
}

type acctOthr struct {
	ID      []string   `xml:"Id"`
	SchmeNm []cdChoice `xml:"SchmeNm"`
}

type proxyAcct struct {
	Tp []cdChoice `xml:"Tp"`
	ID []string   `xml:"Id"`
}

type rmtInf struct {
	Ustrd []string `xml:"Ustrd"`
}

var (
	settlementMethods = []string{"INDA", "INGA", "COVE", "CLRG"}
	chargeBearers     = []string{"DEBT", "CRED", "SHAR", "SLEV"}
)

func (w *pacs008) doc() (Document, error) {
	d := &dec{}
	m := one(d, "FIToFICstmrCdtTrf", w.Msg)
	h := one(d, "GrpHdr", m.GrpHdr)
	out := &CreditTransfer{
		MsgID:   d.reqText("GrpHdr/MsgId", h.MsgID, 35),
		Created: d.dateTime("GrpHdr/CreDtTm", one(d, "GrpHdr/CreDtTm", h.CreDtTm)),
	}
	d.nbOfTxs("GrpHdr/NbOfTxs", h.NbOfTxs, len(m.CdtTrfTxInf))
	s := one(d, "GrpHdr/SttlmInf", h.SttlmInf)
	out.SettlementMethod = d.code("GrpHdr/SttlmInf/SttlmMtd", one(d, "GrpHdr/SttlmInf/SttlmMtd", s.SttlmMtd), settlementMethods...)
	if d.err != nil {
		return nil, d.err
	}
	out.Transactions = make([]CreditTransaction, 0, len(m.CdtTrfTxInf))
	for i, x := range m.CdtTrfTxInf {
		out.Transactions = append(out.Transactions, x.tx(d, pathN("CdtTrfTxInf", i)))
		if d.err != nil {
			return nil, d.err
		}
	}
	return out, nil
}

func (x *cdtTrfTx) tx(d *dec, p string) CreditTransaction {
	var t CreditTransaction
	id := one(d, p+"/PmtId", x.PmtID)
	t.InstrID = d.optText(p+"/PmtId/InstrId", id.InstrID, 35)
	t.EndToEndID = d.reqText(p+"/PmtId/EndToEndId", id.EndToEndID, 35)
	t.TxID = d.optText(p+"/PmtId/TxId", id.TxID, 35)
	t.Amount, t.Currency = d.amount(p+"/IntrBkSttlmAmt", one(d, p+"/IntrBkSttlmAmt", x.IntrBkSttlmAmt), true)
	if a, ok := opt(d, p+"/InstdAmt", x.InstdAmt); ok {
		t.InstructedAmount, t.InstructedCurrency = d.amount(p+"/InstdAmt", a, true)
	}
	if r, ok := opt(d, p+"/XchgRate", x.XchgRate); ok {
		t.ExchangeRate = d.rate(p+"/XchgRate", r)
	}
	if pu, ok := opt(d, p+"/Purp", x.Purp); ok {
		t.Purpose = d.reqText(p+"/Purp/Cd", pu.Cd, 4)
	}
	t.ChargeBearer = d.code(p+"/ChrgBr", one(d, p+"/ChrgBr", x.ChrgBr), chargeBearers...)
	t.DebtorName = d.party(p+"/Dbtr", x.Dbtr)
	t.DebtorAgent = d.agent(p+"/DbtrAgt", x.DbtrAgt)
	t.CreditorAgent = d.agent(p+"/CdtrAgt", x.CdtrAgt)
	t.CreditorName = d.party(p+"/Cdtr", x.Cdtr)
	if a, ok := opt(d, p+"/CdtrAcct", x.CdtrAcct); ok {
		acct := d.account(p+"/CdtrAcct", a)
		t.CreditorAccount = &acct
	}
	if r, ok := opt(d, p+"/RmtInf", x.RmtInf); ok {
		var b strings.Builder
		for _, u := range r.Ustrd {
			b.WriteString(d.text(p+"/RmtInf/Ustrd", u, 140))
		}
		t.Note = b.String()
	}
	return t
}

// party reads a required PartyIdentification135's name.
func (d *dec) party(p string, s []party) string {
	return d.optText(p+"/Nm", one(d, p, s).Nm, 140)
}

// agent reads a required agent's FinInstnId/Othr/Id; "" when Othr is
// absent (the agent is then named by elements the switch does not read).
func (d *dec) agent(p string, s []agent) string {
	f := one(d, p+"/FinInstnId", one(d, p, s).FinInstnID)
	o, ok := opt(d, p+"/FinInstnId/Othr", f.Othr)
	if !ok {
		return ""
	}
	return d.reqText(p+"/FinInstnId/Othr/Id", o.ID, 35)
}

// account reads a CashAccount's Id (IBAN or Othr) and Prxy.
func (d *dec) account(p string, a cashAcct) Account {
	var out Account
	id := one(d, p+"/Id", a.ID)
	switch {
	case len(id.IBAN) > 0 && len(id.Othr) > 0:
		d.fail(p+"/Id", ErrSchema, "both IBAN and Othr")
		return out
	case len(id.IBAN) > 0:
		out.IBAN = d.reqText(p+"/Id/IBAN", id.IBAN, 34)
		if d.err == nil && !ibanRE.MatchString(out.IBAN) {
			d.fail(p+"/Id/IBAN", ErrSchema, "%q is not an IBAN2007Identifier", out.IBAN)
		}
	default:
		o := one(d, p+"/Id/Othr", id.Othr)
		out.ID = d.reqText(p+"/Id/Othr/Id", o.ID, 34)
		if s, ok := opt(d, p+"/Id/Othr/SchmeNm", o.SchmeNm); ok {
			out.Scheme = d.prtry(p+"/Id/Othr/SchmeNm", s)
		}
	}
	if x, ok := opt(d, p+"/Prxy", a.Prxy); ok {
		if tp, ok := opt(d, p+"/Prxy/Tp", x.Tp); ok {
			out.ProxyType = d.prtry(p+"/Prxy/Tp", tp)
		}
		out.ProxyID = d.reqText(p+"/Prxy/Id", x.ID, 2048)
	}
	return out
}

// ibanRE is the XSD's pattern of IBAN2007Identifier.
var ibanRE = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}$`)

// prtry reads a choice of Cd or Prtry in which the switch uses Prtry
// (Max35Text); a Cd (an external code of at most 4 characters) is
// returned as it is.
func (d *dec) prtry(p string, c cdChoice) string {
	switch {
	case len(c.Cd) > 0 && len(c.Prtry) > 0:
		d.fail(p, ErrSchema, "both Cd and Prtry")
	case len(c.Prtry) > 0:
		return d.reqText(p+"/Prtry", c.Prtry, 35)
	case len(c.Cd) > 0:
		return d.reqText(p+"/Cd", c.Cd, 4)
	default:
		d.fail(p, ErrSchema, "neither Cd nor Prtry")
	}
	return ""
}

// cd reads a choice of Cd or Prtry in which the switch uses Cd.
func (d *dec) cd(p string, c cdChoice) string {
	if len(c.Prtry) > 0 && len(c.Cd) == 0 {
		d.fail(p, ErrSchema, "Prtry where the switch needs Cd")
		return ""
	}
	return d.prtry(p, c)
}

func (t *CreditTransfer) wire() (any, error) {
	e := &enc{}
	h := grpHdrTxs{
		MsgID:    e.reqText("GrpHdr/MsgId", t.MsgID, 35),
		CreDtTm:  e.dateTime("GrpHdr/CreDtTm", t.Created),
		NbOfTxs:  e.nbOfTxs("GrpHdr/NbOfTxs", len(t.Transactions)),
		SttlmInf: []sttlmInf{{SttlmMtd: e.code("GrpHdr/SttlmInf/SttlmMtd", t.SettlementMethod, "CLRG", settlementMethods...)}},
	}
	txs := make([]cdtTrfTx, 0, len(t.Transactions))
	for i := range t.Transactions {
		txs = append(txs, t.Transactions[i].wire(e, pathN("CdtTrfTxInf", i)))
	}
	if e.err != nil {
		return nil, e.err
	}
	return &pacs008{Msg: []pacs008Trf{{GrpHdr: []grpHdrTxs{h}, CdtTrfTxInf: txs}}}, nil
}

func (t *CreditTransaction) wire(e *enc, p string) cdtTrfTx {
	x := cdtTrfTx{
		PmtID: []pmtID{{
			InstrID:    e.optText(p+"/PmtId/InstrId", t.InstrID, 35),
			EndToEndID: e.reqText(p+"/PmtId/EndToEndId", t.EndToEndID, 35),
			TxID:       e.optText(p+"/PmtId/TxId", t.TxID, 35),
		}},
		IntrBkSttlmAmt: []amt{e.amount(p+"/IntrBkSttlmAmt", t.Amount, t.Currency, true)},
		ChrgBr:         e.code(p+"/ChrgBr", t.ChargeBearer, "SLEV", chargeBearers...),
		Dbtr:           []party{{Nm: e.optText(p+"/Dbtr/Nm", t.DebtorName, 140)}},
		DbtrAgt:        e.agent(p+"/DbtrAgt", t.DebtorAgent),
		CdtrAgt:        e.agent(p+"/CdtrAgt", t.CreditorAgent),
		Cdtr:           []party{{Nm: e.optText(p+"/Cdtr/Nm", t.CreditorName, 140)}},
	}
	if t.CreditorAccount != nil {
		x.CdtrAcct = []cashAcct{e.account(p+"/CdtrAcct", *t.CreditorAccount)}
	}
	if t.InstructedCurrency != 0 {
		x.InstdAmt = []amt{e.amount(p+"/InstdAmt", t.InstructedAmount, t.InstructedCurrency, true)}
	}
	if t.ExchangeRate != "" {
		x.XchgRate = []string{e.rate(p+"/XchgRate", t.ExchangeRate)}
	}
	if t.Purpose != "" {
		x.Purp = []purp{{Cd: e.reqText(p+"/Purp/Cd", t.Purpose, 4)}}
	}
	if t.Note != "" {
		x.RmtInf = []rmtInf{{Ustrd: e.lines(p+"/RmtInf/Ustrd", t.Note, 140)}}
	}
	return x
}

// agent renders an agent named by FinInstnId/Othr/Id. An agent without
// an id is rendered as an empty FinInstnId, which the XSD allows.
func (e *enc) agent(p, id string) []agent {
	f := finInstnID{}
	if id != "" {
		f.Othr = []othrID{{ID: e.reqText(p+"/FinInstnId/Othr/Id", id, 35)}}
	}
	return []agent{{FinInstnID: []finInstnID{f}}}
}

// account renders a CashAccount's Id (IBAN or Othr) and its Prxy.
func (e *enc) account(p string, a Account) cashAcct {
	var out cashAcct
	if a.IBAN != "" {
		if a.ID != "" || a.Scheme != "" || !ibanRE.MatchString(a.IBAN) {
			e.fail(p+"/Id/IBAN", ErrSchema, "an IBAN %q with an Othr id, or not an IBAN", a.IBAN)
		}
		out.ID = []acctID{{IBAN: []string{a.IBAN}}}
	} else {
		o := acctOthr{ID: e.reqText(p+"/Id/Othr/Id", a.ID, 34)}
		if a.Scheme != "" {
			o.SchmeNm = []cdChoice{{Prtry: e.reqText(p+"/Id/Othr/SchmeNm/Prtry", a.Scheme, 35)}}
		}
		out.ID = []acctID{{Othr: []acctOthr{o}}}
	}
	if a.ProxyID != "" {
		x := proxyAcct{ID: e.reqText(p+"/Prxy/Id", a.ProxyID, 2048)}
		if a.ProxyType != "" {
			x.Tp = []cdChoice{{Prtry: e.reqText(p+"/Prxy/Tp/Prtry", a.ProxyType, 35)}}
		}
		out.Prxy = []proxyAcct{x}
	} else if a.ProxyType != "" {
		e.fail(p+"/Prxy/Id", ErrSchema, "a proxy type without a proxy")
	}
	return out
}

// lines cuts s into lines of at most max characters.
func (e *enc) lines(p, s string, max int) []string {
	var out []string
	for s != "" {
		n, i := 0, 0
		for i < len(s) && n < max {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			n++
		}
		out = append(out, e.reqText(p, s[:i], max)...)
		s = s[i:]
	}
	return out
}

func pathN(name string, i int) string {
	return name + "[" + itoa(i) + "]"
}
