package msg

import "encoding/xml"

// The wire form of pacs.002.001.11.
type pacs002 struct {
	XMLName xml.Name     `xml:"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.11 Document"`
	Msg     []pacs002Rpt `xml:"FIToFIPmtStsRpt"`
}

type pacs002Rpt struct {
	GrpHdr            []grpHdr   `xml:"GrpHdr"`
	OrgnlGrpInfAndSts []orgnlGrp `xml:"OrgnlGrpInfAndSts"`
	TxInfAndSts       []txInfSts `xml:"TxInfAndSts"`
}

// grpHdr is a group header of MsgId and CreDtTm only (GroupHeader91,
// GroupHeader81).
type grpHdr struct {
	MsgID   []string `xml:"MsgId"`
	CreDtTm []string `xml:"CreDtTm"`
}

type orgnlGrp struct {
	OrgnlMsgID   []string `xml:"OrgnlMsgId"`
	OrgnlMsgNmID []string `xml:"OrgnlMsgNmId"`
	GrpSts       []string `xml:"GrpSts"`
}

type txInfSts struct {
	OrgnlInstrID    []string `xml:"OrgnlInstrId"`
	OrgnlEndToEndID []string `xml:"OrgnlEndToEndId"`
	OrgnlTxID       []string `xml:"OrgnlTxId"`
	TxSts           []string `xml:"TxSts"`
	StsRsnInf       []rsnInf `xml:"StsRsnInf"`
}

// rsnInf is StatusReasonInformation12 and PaymentReturnReason6: a reason
// and its additional information.
type rsnInf struct {
	Rsn      []cdChoice `xml:"Rsn"`
	AddtlInf []string   `xml:"AddtlInf"`
}

func (w *pacs002) doc() (Document, error) {
	d := &dec{}
	m := one(d, "FIToFIPmtStsRpt", w.Msg)
	h := one(d, "GrpHdr", m.GrpHdr)
	out := &StatusReport{
		MsgID:   d.reqText("GrpHdr/MsgId", h.MsgID, 35),
		Created: d.dateTime("GrpHdr/CreDtTm", one(d, "GrpHdr/CreDtTm", h.CreDtTm)),
	}
	if len(m.TxInfAndSts) > MaxTransactions || len(m.OrgnlGrpInfAndSts) > MaxTransactions {
		d.fail("TxInfAndSts", ErrTxCount, "more than %d", MaxTransactions)
	}
	for i, g := range m.OrgnlGrpInfAndSts {
		p := pathN("OrgnlGrpInfAndSts", i)
		out.Originals = append(out.Originals, OriginalGroup{
			MsgID:  d.reqText(p+"/OrgnlMsgId", g.OrgnlMsgID, 35),
			Type:   Type(d.reqText(p+"/OrgnlMsgNmId", g.OrgnlMsgNmID, 35)),
			Status: d.optText(p+"/GrpSts", g.GrpSts, 4),
		})
	}
	for i, x := range m.TxInfAndSts {
		p := pathN("TxInfAndSts", i)
		t := TxStatus{
			OrigInstrID:    d.optText(p+"/OrgnlInstrId", x.OrgnlInstrID, 35),
			OrigEndToEndID: d.optText(p+"/OrgnlEndToEndId", x.OrgnlEndToEndID, 35),
			OrigTxID:       d.optText(p+"/OrgnlTxId", x.OrgnlTxID, 35),
			Status:         d.optText(p+"/TxSts", x.TxSts, 4),
		}
		t.Reason, t.Info = d.reason(p+"/StsRsnInf", x.StsRsnInf)
		out.Transactions = append(out.Transactions, t)
		if d.err != nil {
			break
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

// reason reads the first reason's Rsn/Cd and AddtlInf lines. The XSD
// allows several reasons; the switch writes one and reads the first.
func (d *dec) reason(p string, s []rsnInf) (code, info string) {
	if len(s) == 0 {
		return "", ""
	}
	r := s[0]
	if c, ok := opt(d, p+"/Rsn", r.Rsn); ok {
		code = d.cd(p+"/Rsn", c)
	}
	for _, a := range r.AddtlInf {
		info += d.text(p+"/AddtlInf", a, 105)
	}
	return code, info
}

func (r *StatusReport) wire() (any, error) {
	e := &enc{}
	m := pacs002Rpt{GrpHdr: []grpHdr{{
		MsgID:   e.reqText("GrpHdr/MsgId", r.MsgID, 35),
		CreDtTm: e.dateTime("GrpHdr/CreDtTm", r.Created),
	}}}
	if len(r.Transactions) > MaxTransactions {
		e.fail("TxInfAndSts", ErrTxCount, "%d transactions, at most %d", len(r.Transactions), MaxTransactions)
	}
	for i, g := range r.Originals {
		p := pathN("OrgnlGrpInfAndSts", i)
		m.OrgnlGrpInfAndSts = append(m.OrgnlGrpInfAndSts, orgnlGrp{
			OrgnlMsgID:   e.reqText(p+"/OrgnlMsgId", g.MsgID, 35),
			OrgnlMsgNmID: e.reqText(p+"/OrgnlMsgNmId", string(g.Type), 35),
			GrpSts:       e.optText(p+"/GrpSts", g.Status, 4),
		})
	}
	for i, t := range r.Transactions {
		p := pathN("TxInfAndSts", i)
		m.TxInfAndSts = append(m.TxInfAndSts, txInfSts{
			OrgnlInstrID:    e.optText(p+"/OrgnlInstrId", t.OrigInstrID, 35),
			OrgnlEndToEndID: e.optText(p+"/OrgnlEndToEndId", t.OrigEndToEndID, 35),
			OrgnlTxID:       e.optText(p+"/OrgnlTxId", t.OrigTxID, 35),
			TxSts:           e.optText(p+"/TxSts", t.Status, 4),
			StsRsnInf:       e.reason(p+"/StsRsnInf", t.Reason, t.Info),
		})
	}
	if e.err != nil {
		return nil, e.err
	}
	return &pacs002{Msg: []pacs002Rpt{m}}, nil
}

// reason renders one reason with a code and information cut into lines
// of 105 characters; nothing when both are empty.
func (e *enc) reason(p, code, info string) []rsnInf {
	if code == "" && info == "" {
		return nil
	}
	r := rsnInf{AddtlInf: e.lines(p+"/AddtlInf", info, 105)}
	if code != "" {
		r.Rsn = []cdChoice{{Cd: e.reqText(p+"/Rsn/Cd", code, 4)}}
	}
	return []rsnInf{r}
}
