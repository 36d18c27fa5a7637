package msg

import "encoding/xml"

// The wire form of pacs.004.001.10.
type pacs004 struct {
	XMLName xml.Name     `xml:"urn:iso:std:iso:20022:tech:xsd:pacs.004.001.10 Document"`
	Msg     []pacs004Rtr `xml:"PmtRtr"`
}

type pacs004Rtr struct {
	GrpHdr []grpHdrTxs `xml:"GrpHdr"`
	TxInf  []rtrTx     `xml:"TxInf"`
}

type rtrTx struct {
	RtrID              []string `xml:"RtrId"`
	OrgnlInstrID       []string `xml:"OrgnlInstrId"`
	OrgnlEndToEndID    []string `xml:"OrgnlEndToEndId"`
	OrgnlTxID          []string `xml:"OrgnlTxId"`
	RtrdIntrBkSttlmAmt []amt    `xml:"RtrdIntrBkSttlmAmt"`
	RtrRsnInf          []rsnInf `xml:"RtrRsnInf"`
}

func (w *pacs004) doc() (Document, error) {
	d := &dec{}
	m := one(d, "PmtRtr", w.Msg)
	h := one(d, "GrpHdr", m.GrpHdr)
	out := &PaymentReturn{
		MsgID:   d.reqText("GrpHdr/MsgId", h.MsgID, 35),
		Created: d.dateTime("GrpHdr/CreDtTm", one(d, "GrpHdr/CreDtTm", h.CreDtTm)),
	}
	d.nbOfTxs("GrpHdr/NbOfTxs", h.NbOfTxs, len(m.TxInf))
	s := one(d, "GrpHdr/SttlmInf", h.SttlmInf)
	out.SettlementMethod = d.code("GrpHdr/SttlmInf/SttlmMtd", one(d, "GrpHdr/SttlmInf/SttlmMtd", s.SttlmMtd), settlementMethods...)
	for i, x := range m.TxInf {
		if d.err != nil {
			break
		}
		p := pathN("TxInf", i)
		t := ReturnTransaction{
			ReturnID:       d.optText(p+"/RtrId", x.RtrID, 35),
			OrigInstrID:    d.optText(p+"/OrgnlInstrId", x.OrgnlInstrID, 35),
			OrigEndToEndID: d.optText(p+"/OrgnlEndToEndId", x.OrgnlEndToEndID, 35),
			OrigTxID:       d.optText(p+"/OrgnlTxId", x.OrgnlTxID, 35),
		}
		t.Amount, t.Currency = d.amount(p+"/RtrdIntrBkSttlmAmt", one(d, p+"/RtrdIntrBkSttlmAmt", x.RtrdIntrBkSttlmAmt), true)
		t.Reason, t.Info = d.reason(p+"/RtrRsnInf", x.RtrRsnInf)
		out.Transactions = append(out.Transactions, t)
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

func (r *PaymentReturn) wire() (any, error) {
	e := &enc{}
	h := grpHdrTxs{
		MsgID:    e.reqText("GrpHdr/MsgId", r.MsgID, 35),
		CreDtTm:  e.dateTime("GrpHdr/CreDtTm", r.Created),
		NbOfTxs:  e.nbOfTxs("GrpHdr/NbOfTxs", len(r.Transactions)),
		SttlmInf: []sttlmInf{{SttlmMtd: e.code("GrpHdr/SttlmInf/SttlmMtd", r.SettlementMethod, "CLRG", settlementMethods...)}},
	}
	m := pacs004Rtr{GrpHdr: []grpHdrTxs{h}}
	for i, t := range r.Transactions {
		p := pathN("TxInf", i)
		m.TxInf = append(m.TxInf, rtrTx{
			RtrID:              e.optText(p+"/RtrId", t.ReturnID, 35),
			OrgnlInstrID:       e.optText(p+"/OrgnlInstrId", t.OrigInstrID, 35),
			OrgnlEndToEndID:    e.optText(p+"/OrgnlEndToEndId", t.OrigEndToEndID, 35),
			OrgnlTxID:          e.optText(p+"/OrgnlTxId", t.OrigTxID, 35),
			RtrdIntrBkSttlmAmt: []amt{e.amount(p+"/RtrdIntrBkSttlmAmt", t.Amount, t.Currency, true)},
			RtrRsnInf:          e.reason(p+"/RtrRsnInf", t.Reason, t.Info),
		})
	}
	if e.err != nil {
		return nil, e.err
	}
	return &pacs004{Msg: []pacs004Rtr{m}}, nil
}
