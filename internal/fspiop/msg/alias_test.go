package msg

import "testing"

func TestAliasOf(t *testing.T) {
	tests := []struct {
		typ, id, sub  string
		hulian, value string
		err           string
	}{
		{"MSISDN", "27713803912", "", HulianMSISDN, "+27713803912", ""},
		{"MSISDN", "+27713803912", "", HulianMSISDN, "+27713803912", ""},
		{"EMAIL", "Alice@Example.com", "", HulianEMAIL, "Alice@Example.com", ""},
		{"PERSONAL_ID", "11010519491231002X", "", HulianNationalID, "11010519491231002X", ""},
		{"PERSONAL_ID", "8001015009087", "NATIONAL_ID_CARD", HulianNationalID, "8001015009087", ""},
		{"PERSONAL_ID", "8001015009087", "NATIONAL_REGISTRATION", HulianNationalID, "8001015009087", ""},
		{"ACCOUNT_ID", "wallet-7", "", HulianWallet, "wallet-7", ""},
		{"ALIAS", "0b1f3a52-6c1e-4c1a-9a7e-2f1d3c4b5a69", "", HulianRandom, "0b1f3a52-6c1e-4c1a-9a7e-2f1d3c4b5a69", ""},
		{"PERSONAL_ID", "A1234567", "PASSPORT", "", "", "3200 Generic ID not found - PERSONAL_ID of type PASSPORT is not served by this switch"},
		{"MSISDN", "27713803912", "2", "", "", "3200 Generic ID not found - sub-identifiers of MSISDN are not served by this switch"},
		{"BUSINESS", "acme", "", "", "", "3200 Generic ID not found - party id type BUSINESS is not served by this switch"},
		{"IBAN", "DE89370400440532013000", "", "", "", "3200 Generic ID not found - party id type IBAN is not served by this switch"},
		{"DEVICE", "x", "", "", "", "3200 Generic ID not found - party id type DEVICE is not served by this switch"},
		{"PHONE", "1", "", "", "", "3101 Malformed syntax - partyIdType must be a PartyIdType"},
		{"MSISDN", "", "", "", "", "3102 Missing mandatory element - partyIdentifier"},
		{"MSISDN", "0713803912", "", "", "", "3100 Generic validation error - MSISDN must be an international number's digits"},
		{"MSISDN", "+27 71 380 3912", "", "", "", "3100 Generic validation error - MSISDN must be an international number's digits"},
		{"MSISDN", "++27713803912", "", "", "", "3100 Generic validation error - MSISDN must be an international number's digits"},
		{"MSISDN", "1234567890123456", "", "", "", "3100 Generic validation error - MSISDN must be an international number's digits"},
	}
	for _, tt := range tests {
		h, v, err := AliasOf(tt.typ, tt.id, tt.sub)
		if h != tt.hulian || v != tt.value || errText(err) != tt.err {
			t.Errorf("AliasOf(%q, %q, %q) = %q, %q, %q; want %q, %q, %q", tt.typ, tt.id, tt.sub, h, v, errText(err), tt.hulian, tt.value, tt.err)
		}
		if err != nil {
			continue
		}
		p, err := PartyOf(h, v)
		if err != nil || p.PartyIDType != tt.typ || p.PartySubIDOrType != "" {
			t.Errorf("PartyOf(%q, %q) = %+v, %v", h, v, p, err)
		}
		if tt.typ == MSISDN && p.PartyIdentifier != "27713803912" || tt.typ != MSISDN && p.PartyIdentifier != tt.id {
			t.Errorf("PartyOf(%q, %q).PartyIdentifier = %q", h, v, p.PartyIdentifier)
		}
	}
	if _, err := PartyOf("PIX", "x"); errText(err) != "3200 Generic ID not found - alias type PIX has no FSPIOP party id type" {
		t.Errorf("PartyOf(PIX) = %v", err)
	}
}
