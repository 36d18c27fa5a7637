package msg

import (
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/hulian/hulian/internal/money"
)

// The wire form of camt.053.001.08.
type camt053 struct {
	XMLName xml.Name     `xml:"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08 Document"`
	Msg     []camt053Msg `xml:"BkToCstmrStmt"`
}

type camt053Msg struct {
	GrpHdr []grpHdr `xml:"GrpHdr"`
	Stmt   []stmt   `xml:"Stmt"`
}

type stmt struct {
	ID        []string   `xml:"Id"`
	StmtPgntn []pgntn    `xml:"StmtPgntn"`
	CreDtTm   []string   `xml:"CreDtTm"`
	Acct      []cashAcct `xml:"Acct"`
	Bal       []bal      `xml:"Bal"`
	Ntry      []ntry     `xml:"Ntry"`
}

type pgntn struct {
	PgNb      []string `xml:"PgNb"`
	LastPgInd []string `xml:"LastPgInd"`
}

type bal struct {
	Tp        []balTp      `xml:"Tp"`
	Amt       []amt        `xml:"Amt"`
	CdtDbtInd []string     `xml:"CdtDbtInd"`
	Dt        []dateChoice `xml:"Dt"`
}

type balTp struct {
	CdOrPrtry []cdChoice `xml:"CdOrPrtry"`
}

type ntry struct {
	NtryRef      []string     `xml:"NtryRef"`
	Amt          []amt        `xml:"Amt"`
	CdtDbtInd    []string     `xml:"CdtDbtInd"`
	Sts          []cdChoice   `xml:"Sts"`
	BookgDt      []dateChoice `xml:"BookgDt"`
	ValDt        []dateChoice `xml:"ValDt"`
	BkTxCd       []bkTxCd     `xml:"BkTxCd"`
	NtryDtls     []ntryDtls   `xml:"NtryDtls"`
	AddtlNtryInf []string     `xml:"AddtlNtryInf"`
}

type bkTxCd struct {
	Prtry []bkTxPrtry `xml:"Prtry"`
}

type bkTxPrtry struct {
	Cd []string `xml:"Cd"`
}

type ntryDtls struct {
	TxDtls []txDtls `xml:"TxDtls"`
}

type txDtls struct {
	Refs []refs `xml:"Refs"`
}

type refs struct {
	InstrID    []string `xml:"InstrId"`
	EndToEndID []string `xml:"EndToEndId"`
	TxID       []string `xml:"TxId"`
}

var creditDebit = []string{string(Credit), string(Debit)}

func (w *camt053) doc() (Document, error) {
	d := &dec{}
	m := one(d, "BkToCstmrStmt", w.Msg)
	h := one(d, "GrpHdr", m.GrpHdr)
	out := &BankStatement{
		MsgID:   d.reqText("GrpHdr/MsgId", h.MsgID, 35),
		Created: d.dateTime("GrpHdr/CreDtTm", one(d, "GrpHdr/CreDtTm", h.CreDtTm)),
	}
	if len(m.Stmt) == 0 {
		d.fail("Stmt", ErrSchema, "required element missing")
	}
	for i := range m.Stmt {
		if d.err != nil {
			break
		}
		out.Statements = append(out.Statements, m.Stmt[i].statement(d, pathN("Stmt", i)))
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

func (s *stmt) statement(d *dec, p string) AccountStatement {
	out := AccountStatement{ID: d.reqText(p+"/Id", s.ID, 35)}
	if pg, ok := opt(d, p+"/StmtPgntn", s.StmtPgntn); ok {
		nb := d.reqText(p+"/StmtPgntn/PgNb", pg.PgNb, 5)
		n, err := strconv.Atoi(nb)
		if err != nil || n < 1 || strings.Trim(nb, "0123456789") != "" {
			d.fail(p+"/StmtPgntn/PgNb", ErrSchema, "a page number of 1 to 5 digits")
		}
		out.Page = n
		last := d.code(p+"/StmtPgntn/LastPgInd", one(d, p+"/StmtPgntn/LastPgInd", pg.LastPgInd), "true", "false", "1", "0")
		out.LastPage = last == "true" || last == "1"
	}
	if c, ok := opt(d, p+"/CreDtTm", s.CreDtTm); ok {
		out.Created = d.dateTime(p+"/CreDtTm", c)
	}
	a := one(d, p+"/Acct", s.Acct)
	if d.err != nil {
		return out
	}
	out.Account = d.account(p+"/Acct", a)
	if c, ok := opt(d, p+"/Acct/Ccy", a.Ccy); ok {
		cur, err := currency(c)
		if err != nil {
			d.fail(p+"/Acct/Ccy", ErrCurrency, "%v", err)
		}
		out.Currency = cur
	}
	if len(s.Bal) == 0 {
		d.fail(p+"/Bal", ErrSchema, "required element missing")
	}
	for i, b := range s.Bal {
		q := pathN(p+"/Bal", i)
		var x Balance
		x.Type = d.cd(q+"/Tp/CdOrPrtry", one(d, q+"/Tp/CdOrPrtry", one(d, q+"/Tp", b.Tp).CdOrPrtry))
		x.Amount, x.Currency = d.amount(q+"/Amt", one(d, q+"/Amt", b.Amt), false)
		x.Indicator = CreditDebit(d.code(q+"/CdtDbtInd", one(d, q+"/CdtDbtInd", b.CdtDbtInd), creditDebit...))
		x.Date = d.dateChoice(q+"/Dt", one(d, q+"/Dt", b.Dt))
		out.Balances = append(out.Balances, x)
		if d.err != nil {
			return out
		}
	}
	for i := range s.Ntry {
		out.Entries = append(out.Entries, s.Ntry[i].entry(d, pathN(p+"/Ntry", i)))
		if d.err != nil {
			return out
		}
	}
	return out
}

func (n *ntry) entry(d *dec, p string) Entry {
	var x Entry
	x.Ref = d.optText(p+"/NtryRef", n.NtryRef, 35)
	x.Amount, x.Currency = d.amount(p+"/Amt", one(d, p+"/Amt", n.Amt), false)
	x.Indicator = CreditDebit(d.code(p+"/CdtDbtInd", one(d, p+"/CdtDbtInd", n.CdtDbtInd), creditDebit...))
	x.Status = d.cd(p+"/Sts", one(d, p+"/Sts", n.Sts))
	if b, ok := opt(d, p+"/BookgDt", n.BookgDt); ok {
		x.Booked = d.dateChoice(p+"/BookgDt", b)
	}
	if v, ok := opt(d, p+"/ValDt", n.ValDt); ok {
		x.Value = d.dateChoice(p+"/ValDt", v)
	}
	if pr, ok := opt(d, p+"/BkTxCd/Prtry", one(d, p+"/BkTxCd", n.BkTxCd).Prtry); ok {
		x.Code = d.reqText(p+"/BkTxCd/Prtry/Cd", pr.Cd, 35)
	}
	// The switch writes one NtryDtls with one TxDtls per entry and reads
	// the references of the first.
	if len(n.NtryDtls) > 0 && len(n.NtryDtls[0].TxDtls) > 0 {
		if r, ok := opt(d, p+"/NtryDtls/TxDtls/Refs", n.NtryDtls[0].TxDtls[0].Refs); ok {
			q := p + "/NtryDtls/TxDtls/Refs"
			x.InstrID = d.optText(q+"/InstrId", r.InstrID, 35)
			x.EndToEndID = d.optText(q+"/EndToEndId", r.EndToEndID, 35)
			x.TxID = d.optText(q+"/TxId", r.TxID, 35)
		}
	}
	x.Info = d.optText(p+"/AddtlNtryInf", n.AddtlNtryInf, 500)
	return x
}

func (b *BankStatement) wire() (any, error) {
	e := &enc{}
	m := camt053Msg{GrpHdr: []grpHdr{{
		MsgID:   e.reqText("GrpHdr/MsgId", b.MsgID, 35),
		CreDtTm: e.dateTime("GrpHdr/CreDtTm", b.Created),
	}}}
	if len(b.Statements) == 0 {
		e.fail("Stmt", ErrSchema, "at least one statement required")
	}
	for i := range b.Statements {
		m.Stmt = append(m.Stmt, b.Statements[i].wire(e, pathN("Stmt", i)))
	}
	if e.err != nil {
		return nil, e.err
	}
	return &camt053{Msg: []camt053Msg{m}}, nil
}

func (s *AccountStatement) wire(e *enc, p string) stmt {
	out := stmt{
		ID:   e.reqText(p+"/Id", s.ID, 35),
		Acct: []cashAcct{e.account(p+"/Acct", s.Account)},
	}
	if s.Page != 0 {
		if s.Page < 0 || s.Page > 99999 {
			e.fail(p+"/StmtPgntn/PgNb", ErrSchema, "a page number of 1 to 5 digits")
		}
		out.StmtPgntn = []pgntn{{PgNb: []string{strconv.Itoa(s.Page)}, LastPgInd: []string{strconv.FormatBool(s.LastPage)}}}
	}
	if !s.Created.IsZero() {
		out.CreDtTm = e.dateTime(p+"/CreDtTm", s.Created)
	}
	if s.Currency != 0 {
		c, err := s.Currency.MarshalText()
		if err != nil {
			e.fail(p+"/Acct/Ccy", ErrCurrency, "%v", err)
		}
		out.Acct[0].Ccy = []string{string(c)}
	}
	if len(s.Balances) == 0 {
		e.fail(p+"/Bal", ErrSchema, "at least one balance required")
	}
	for i, b := range s.Balances {
		q := pathN(p+"/Bal", i)
		out.Bal = append(out.Bal, bal{
			Tp:        []balTp{{CdOrPrtry: []cdChoice{{Cd: e.reqText(q+"/Tp/CdOrPrtry/Cd", b.Type, 4)}}}},
			Amt:       []amt{e.amount(q+"/Amt", b.Amount, b.Currency, false)},
			CdtDbtInd: e.code(q+"/CdtDbtInd", string(b.Indicator), "", creditDebit...),
			Dt:        []dateChoice{e.dateChoice(q+"/Dt", b.Date)},
		})
	}
	for i := range s.Entries {
		out.Ntry = append(out.Ntry, s.Entries[i].wire(e, pathN(p+"/Ntry", i)))
	}
	return out
}

func (x *Entry) wire(e *enc, p string) ntry {
	n := ntry{
		NtryRef:      e.optText(p+"/NtryRef", x.Ref, 35),
		Amt:          []amt{e.amount(p+"/Amt", x.Amount, x.Currency, false)},
		CdtDbtInd:    e.code(p+"/CdtDbtInd", string(x.Indicator), "", creditDebit...),
		Sts:          []cdChoice{{Cd: e.reqText(p+"/Sts/Cd", x.Status, 4)}},
		BkTxCd:       []bkTxCd{{}},
		AddtlNtryInf: e.optText(p+"/AddtlNtryInf", x.Info, 500),
	}
	if !x.Booked.IsZero() {
		n.BookgDt = []dateChoice{e.dateChoice(p+"/BookgDt", x.Booked)}
	}
	if !x.Value.IsZero() {
		n.ValDt = []dateChoice{e.dateChoice(p+"/ValDt", x.Value)}
	}
	if x.Code != "" {
		n.BkTxCd[0].Prtry = []bkTxPrtry{{Cd: e.reqText(p+"/BkTxCd/Prtry/Cd", x.Code, 35)}}
	}
	if x.InstrID != "" || x.EndToEndID != "" || x.TxID != "" {
		q := p + "/NtryDtls/TxDtls/Refs"
		n.NtryDtls = []ntryDtls{{TxDtls: []txDtls{{Refs: []refs{{
			InstrID:    e.optText(q+"/InstrId", x.InstrID, 35),
			EndToEndID: e.optText(q+"/EndToEndId", x.EndToEndID, 35),
			TxID:       e.optText(q+"/TxId", x.TxID, 35),
		}}}}}}
	}
	return n
}

// Signed returns the entry as a signed amount: negative when Debit.
func (x Entry) Signed() money.Amount {
	if x.Indicator == Debit {
		return -x.Amount
	}
	return x.Amount
}
