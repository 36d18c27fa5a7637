// Package msg owns Hulian's ISO 20022 messages: the Go types of the four
// message versions the switch speaks and a codec between them and XML.
//
//   - pacs.008.001.09 CreditTransfer: banks send it; the switch sends it to
//     payee banks as a callback.
//   - pacs.002.001.11 StatusReport: the switch answers with it; a
//     confirm-mode payee bank answers a callback with it.
//   - pacs.004.001.10 PaymentReturn: payee banks send it to return a payment.
//   - camt.053.001.08 BankStatement: the switch renders statements; a
//     participant or the settlement bank uploads one for reconciliation.
//
// The types model only the elements the switch uses. Parse reads a
// message from an untrusted peer: it refuses DTDs of any kind (so no
// entity expansion and no external entities), documents larger than the
// caller's bound, nesting deeper than MaxDepth, elements outside the
// message's namespace (except inside SplmtryData/Envlp, which is xs:any),
// unknown attributes, text mixed with elements, and every breach of the official XSD within the
// modelled elements (a required element missing, an element repeated that
// may occur once, a text too long, a code outside its enumeration, a bad
// date or decimal). Elements of the XSD that are not modelled are skipped
// unread; the order of elements is not checked. Parse reads the input in
// one streaming pass through encoding/xml (about 20 MB/s here: 40 ms for
// a batch of 1,000 credit transfers). On top of the XSD it
// applies the switch's own limits: 1 to MaxTransactions transactions,
// NbOfTxs equal to their number, amounts positive and with no more
// decimals than the currency's ISO 4217 exponent, currencies known to
// internal/money.
//
// Marshal renders a message with the XML declaration and the version's
// namespace as the default namespace of Document; whatever it renders
// validates against the official XSD (the tests check every golden file
// with xmllint). Amounts are int64 minor units on the Go side and exact
// decimals in XML; no float is involved.
package msg
