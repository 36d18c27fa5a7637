// Package emv owns the payload of merchant QR codes in the EMVCo
// Merchant-Presented Mode (EMV QRCPS MPM v1.1) and their image: Encode
// writes a merchant's code, Decode reads one back strictly, PNG draws it.
// The package knows nothing of storage or HTTP; the switch resolves the
// merchant id a code carries.
//
// # Payload
//
// A payload is a run of data objects, each a two-digit ID, a two-digit
// length and the value. Templates hold data objects of their own in the
// same form. Encode writes, in ascending ID order with the CRC last:
//
//	00 "01"                      payload format indicator
//	01 "11" static / "12" dynamic point of initiation (Code.Dynamic)
//	26 template (Code.TemplateID) merchant account information:
//	   00 scheme GUID (Code.GUID, the switch's --qr-guid, e.g. "cn.hulian")
//	   01 merchant id (Code.MerchantID)
//	52 merchant category code    4 digits
//	53 transaction currency      ISO 4217 numeric, e.g. "156"
//	54 transaction amount        only when Code.Amount is not zero, e.g. "12.50"
//	58 country code              ISO 3166-1 alpha-2, upper case
//	59 merchant name             at most 25 characters
//	60 merchant city             at most 15 characters
//	62 template additional data: 01 bill number, 05 reference label
//	63 CRC                       4 upper-case hex digits
//
// The CRC is CRC-16/CCITT-FALSE (CRC16) over the UTF-8 bytes of every
// data object before it including the "6304" that introduces it.
//
// Decode accepts what other issuers write as long as it is valid EMV:
// data objects in any order, provided 00 comes first and 63 last (the
// EMVCo specification's own example is not in ascending order); no 01
// (read as static, as in Pix's static codes); the merchant template at
// any ID from 26 to 51, found by its GUID (compared without regard to
// ASCII case, as Pix codes write "br.gov.bcb.pix" in either case);
// amounts with fewer decimals than the currency's exponent ("12.5") or a
// bare point ("12."), which EMV allows. Every data object the switch does
// not interpret is kept, as Code.Other (other merchant account templates
// 02–51, tip and convenience fee 55–57, postal code 61, language
// template 64, RFU 65–79, unreserved templates 80–99),
// Code.MerchantOther (other sub-objects of the merchant template) and
// Code.AdditionalOther (other sub-objects of 62, such as the terminal
// label 07), each sorted by ID, so that a decoded code re-encodes to a
// payload that decodes to the same Code. Tips and convenience fees are
// not interpreted: a caller that pays such a code decides about them.
//
// Decode refuses: a payload over PayloadMaxChars (512) characters; an ID or length
// that is not two digits; a length of 00 or one running past the end; a
// duplicate ID at any level; 00 not first or not "01"; 01 other than "11"
// or "12"; 63 not last, not of length 04, not four upper-case hex digits
// or not matching; templates (26–51, 62, 64, 80–99) whose value is not a
// run of data objects; a missing 52, 53, 58, 59 or 60; an MCC that is not
// four digits; a currency that is not an active ISO 4217 code; an amount
// that is not a positive decimal with at most the currency's exponent of
// decimals in at most 13 characters; a merchant template without a
// merchant id, or two templates with the switch's GUID. Its errors wrap
// ErrMalformed, ErrCRC or ErrUnknownScheme, all of code "invalid-qr".
//
// # Characters and lengths
//
// EMV gives lengths in characters, not bytes: the EMVCo example's
// language template carries "0104最佳运输", four characters in twelve
// bytes, and UnionPay's MPM guide says the same of its string format. So
// both Encode and Decode count Unicode characters, and the CRC runs over
// UTF-8 bytes (which reproduces the EMVCo example's A13A).
//
// The fields the switch reads and writes (GUID, merchant id, MCC,
// country, name, city, bill number, reference) are EMV format "ans", the
// EMV common character set: printable ASCII, 0x20 to 0x7E. Encode refuses
// anything else there rather than transliterate it, and a name longer
// than 25 or a city longer than 15 characters is refused, never cut: a
// payer must see the name the merchant registered, so the merchant's
// record has to be fixed instead. Names in other scripts belong in the
// language template 64, which Decode keeps but Encode does not build.
// Everywhere else Decode accepts any valid UTF-8 except control
// characters (C0, DEL, C1), which have no place in a printed code.
//
// An amount of zero means "no amount": Encode leaves 54 out, and Decode
// refuses "0.00", which would otherwise read back as absent.
//
// # Image
//
// PNG draws a payload at error correction level M with a quiet zone of
// four modules (github.com/skip2/go-qrcode), then reads the image back
// with ZXing (github.com/makiuchi-d/gozxing) and returns it only if it
// reads exactly the payload: about one symbol in a hundred fools ZXing's
// finder-pattern detector, and PNG then draws a larger symbol version.
package emv
