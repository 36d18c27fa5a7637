package msg

import (
	"regexp"
	"strings"
)

// The patterns of the v1.1 definition. The frequent ones are written out
// by hand (a regular expression costs a microsecond or more per field,
// and a transfer carries a dozen such fields); the rare ones use the RE2
// translations of the ECMAScript patterns. The tests hold each function
// to the definition's own expression.

// currencyList is the Currency enum of the v1.1 definition, verbatim:
// ISO 4217 codes plus some legacy and test codes (MRO, STD, VEF, ZWD,
// HRK, SPL, TVD, XTS, XXX).
const currencyList = `
	AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
	BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
	GGP GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS IMP INR IQD IRR ISK JEP JMD JOD JPY KES
	KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRO MUR MVR
	MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
	SBD SCR SDG SEK SGD SHP SLL SOS SPL SRD STD SVC SYP SZL THB TJS TMT TND TOP TRY TTD TVD TWD TZS
	UAH UGX USD UYU UZS VEF VND VUV WST XAF XCD XDR XOF XPF XTS XXX YER ZAR ZMW ZWD
`

var currencies = func() map[string]bool {
	m := make(map[string]bool, 170)
	for _, c := range strings.Fields(currencyList) {
		m[c] = true
	}
	return m
}()

// IsCurrency reports whether s is a currency of the definition's enum.
func IsCurrency(s string) bool { return len(s) == 3 && currencies[s] }

// Currencies returns the definition's currency codes, in its order.
func Currencies() []string { return strings.Fields(currencyList) }

// IsCorrelationID reports whether s matches CorrelationId:
// ^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$
// (a UUID of version 1 to 5, lower case only).
func IsCorrelationID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		case 14:
			if c < '1' || c > '5' {
				return false
			}
		case 19:
			if c != '8' && c != '9' && c != 'a' && c != 'b' {
				return false
			}
		default:
			if !isLowerHex(c) {
				return false
			}
		}
	}
	return true
}

func isLowerHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// IsAmount reports whether s matches Amount:
// ^([0]|([1-9][0-9]{0,17}))([.][0-9]{0,3}[1-9])?$ — at most 18 integer
// digits without leading zeros, at most 4 decimals, the last not 0.
func IsAmount(s string) bool {
	intPart, frac, dot := strings.Cut(s, ".")
	switch {
	case intPart == "" || len(intPart) > 18:
		return false
	case intPart[0] == '0' && len(intPart) > 1:
		return false
	}
	for i := 0; i < len(intPart); i++ {
		if !isDigit(intPart[i]) {
			return false
		}
	}
	if !dot {
		return true
	}
	if frac == "" || len(frac) > 4 || frac[len(frac)-1] == '0' {
		return false
	}
	for i := 0; i < len(frac); i++ {
		if !isDigit(frac[i]) {
			return false
		}
	}
	return true
}

// IsDateTime reports whether s matches DateTime: a calendar date-time
// with exactly three fractional digits and "Z" or an offset
// ("2026-12-07T01:00:00.000Z", "2026-12-07T03:00:00.000+02:00").
func IsDateTime(s string) bool {
	if len(s) != 24 && len(s) != 29 {
		return false
	}
	if !isDate(s[:10]) || s[10] != 'T' || !isTime(s[11:23]) {
		return false
	}
	z := s[23:]
	if z == "Z" {
		return true
	}
	return len(z) == 6 && (z[0] == '+' || z[0] == '-') && (z[1] == '0' || z[1] == '1') && isDigit(z[2]) &&
		z[3] == ':' && z[4] >= '0' && z[4] <= '5' && isDigit(z[5])
}

// isTime checks "HH:MM:SS.fff" with the definition's ranges.
func isTime(t string) bool {
	if len(t) != 12 || t[2] != ':' || t[5] != ':' || t[8] != '.' {
		return false
	}
	for _, i := range []int{0, 1, 3, 4, 6, 7, 9, 10, 11} {
		if !isDigit(t[i]) {
			return false
		}
	}
	return (t[0] < '2' || t[0] == '2' && t[1] <= '3') && t[3] <= '5' && t[6] <= '5'
}

// IsDate reports whether s matches Date (and DateOfBirth): a valid
// calendar date "YYYY-MM-DD" of the years 1000 to 9999, 29 February
// only in leap years.
func IsDate(s string) bool { return len(s) == 10 && isDate(s) }

func isDate(s string) bool {
	if s[4] != '-' || s[7] != '-' || s[0] == '0' {
		return false
	}
	for _, i := range []int{0, 1, 2, 3, 5, 6, 8, 9} {
		if !isDigit(s[i]) {
			return false
		}
	}
	year := int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	month := int(s[5]-'0')*10 + int(s[6]-'0')
	day := int(s[8]-'0')*10 + int(s[9]-'0')
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	switch month {
	case 2:
		leap := year%4 == 0 && (year%100 != 0 || year%400 == 0)
		return day <= 28 || day == 29 && leap
	case 4, 6, 9, 11:
		return day <= 30
	}
	return day <= 31
}

// IsILPCondition reports whether s matches IlpCondition and
// IlpFulfilment: ^[A-Za-z0-9-_]{43}$, 32 bytes in base64url without
// padding.
func IsILPCondition(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isBase64URL(s[i]) {
			return false
		}
	}
	return true
}

// IsILPPacket reports whether s matches IlpPacket:
// ^[A-Za-z0-9-_]+[=]{0,2}$ and 1 to 32768 characters.
func IsILPPacket(s string) bool { return len(s) <= 32768 && isILPPacketText(s) }

// isILPPacketText is IlpPacket's pattern alone.
func isILPPacketText(s string) bool {
	n := len(s)
	for k := 0; k < 2 && n > 0 && s[n-1] == '='; k++ {
		n--
	}
	if n == 0 {
		return false
	}
	for i := 0; i < n; i++ {
		if !isBase64URL(s[i]) {
			return false
		}
	}
	return true
}

func isBase64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// allDigits reports whether s is min to max ASCII digits, the first
// not '0' when nonZeroFirst.
func allDigits(s string, min, max int, nonZeroFirst bool) bool {
	if len(s) < min || len(s) > max || nonZeroFirst && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// isSubScenario: ^[A-Z_]{1,32}$ (TransactionSubScenario, UndefinedEnum).
func isSubScenario(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// isBalanceOfPayments: ^[1-9]\d{2}$.
func isBalanceOfPayments(s string) bool { return allDigits(s, 3, 3, true) }

// isMerchantCode: ^[\d]{1,4}$ (MerchantClassificationCode).
func isMerchantCode(s string) bool { return allDigits(s, 1, 4, false) }

var (
	// namePart translates FirstName/MiddleName/LastName,
	// ^(?!\s*$)[\p{L}\p{gc=Mark}\p{digit}\p{gc=Connector_Punctuation}\p{Join_Control} .,''-]{1,128}$
	// with the u flag: \p{digit} is \p{Nd}, Join_Control is U+200C and
	// U+200D; the look-ahead (not only white space) is checked apart.
	namePart  = regexp.MustCompile(`^[\p{L}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D} .,'-]{1,128}$`)
	latitude  = regexp.MustCompile(`^(\+|-)?(?:90(?:(?:\.0{1,6})?)|(?:[0-9]|[1-8][0-9])(?:(?:\.[0-9]{1,6})?))$`)
	longitude = regexp.MustCompile(`^(\+|-)?(?:180(?:(?:\.0{1,6})?)|(?:[0-9]|[1-9][0-9]|1[0-7][0-9])(?:(?:\.[0-9]{1,6})?))$`)
)

// IsName reports whether s matches FirstName, MiddleName and LastName:
// 1 to 128 letters, marks, digits, connector punctuation, joiners,
// space, '.', ',', '\” and '-', not only spaces. '*' is not among them:
// a masked name goes in Party.Name.
func IsName(s string) bool {
	return strings.TrimSpace(s) != "" && namePart.MatchString(s)
}

// IsLatitude reports whether s matches Latitude.
func IsLatitude(s string) bool { return latitude.MatchString(s) }

// IsLongitude reports whether s matches Longitude.
func IsLongitude(s string) bool { return longitude.MatchString(s) }

// IsPartyIDType reports whether s is a PartyIdType.
func IsPartyIDType(s string) bool {
	switch s {
	case MSISDN, EMAIL, PersonalID, Business, Device, AccountID, IBAN, Alias:
		return true
	}
	return false
}

// IsTransferState reports whether s is a TransferState.
func IsTransferState(s string) bool {
	switch s {
	case StateReceived, StateReserved, StateCommitted, StateAborted:
		return true
	}
	return false
}

func isAmountType(s string) bool { return s == AmountSend || s == AmountReceive }

func isScenario(s string) bool {
	switch s {
	case ScenarioDeposit, ScenarioWithdrawal, ScenarioTransfer, ScenarioPayment, ScenarioRefund:
		return true
	}
	return false
}

func isInitiator(s string) bool { return s == InitiatorPayer || s == InitiatorPayee }

func isInitiatorType(s string) bool {
	switch s {
	case InitiatorConsumer, InitiatorAgent, InitiatorBusiness, InitiatorDevice:
		return true
	}
	return false
}
