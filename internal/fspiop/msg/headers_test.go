package msg

import (
	"errors"
	"testing"
	"time"
)

func errText(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return "not an *Error: " + err.Error()
	}
	return e.Code.String() + " " + e.Info().ErrorDescription
}

const (
	badCT   = "3101 Malformed syntax - Invalid content-type header"
	ctVer   = "3001 Unacceptable version requested - Client supplied a protocol version which is not supported by the server"
	badAcc  = "3101 Malformed syntax - Invalid accept header"
	accVer  = "3001 Unacceptable version requested - The Client requested an unsupported version, see extension list for supported version(s)."
	transfT = "application/vnd.interoperability.transfers+json"
)

func TestParseContentType(t *testing.T) {
	tests := []struct {
		v, resource, version, err string
	}{
		{transfT + ";version=1.1", "transfers", "1.1", ""},
		{transfT + ";version=1.0", "transfers", "1.0", ""},
		{transfT + " ; version=1.0", "transfers", "1.0", ""},
		{transfT + "; version=1.1", "transfers", "1.1", ""},
		{transfT + "\t;version=1.1", "transfers", "1.1", ""},
		{"application/vnd.interoperability.parties+json;version=1.0", "parties", "1.0", ""},
		{"", "transfers", "", "3102 Missing mandatory element - Content-type is required"},
		{"application/json", "transfers", "", badCT},
		{transfT, "transfers", "", badCT},
		{transfT + ";version=1", "transfers", "", badCT},
		{transfT + ";version=1.", "transfers", "", badCT},
		{transfT + ";version=v1.1", "transfers", "", badCT},
		{transfT + "  ;version=1.1", "transfers", "", badCT},
		{transfT + ";  version=1.1", "transfers", "", badCT},
		{transfT + ";version=1.1;charset=utf-8", "transfers", "", badCT},
		{"Application/vnd.interoperability.transfers+json;version=1.1", "transfers", "", badCT},
		{transfT + ";version=1.1", "quotes", "", badCT},
		{"application/vnd.interoperability.transfersx+json;version=1.1", "transfers", "", badCT},
		{transfT + ";version=2.0", "transfers", "", ctVer},
		{transfT + ";version=1.2", "transfers", "", ctVer},
		{transfT + ";version=01.1", "transfers", "", ctVer},
	}
	for _, tt := range tests {
		v, err := ParseContentType(tt.v, tt.resource)
		if v != tt.version || errText(err) != tt.err {
			t.Errorf("ParseContentType(%q, %q) = %q, %q; want %q, %q", tt.v, tt.resource, v, errText(err), tt.version, tt.err)
		}
	}
}

func TestNegotiateAccept(t *testing.T) {
	tests := []struct {
		v, version, err string
	}{
		{transfT + ";version=1", "1.1", ""},
		{transfT + ";version=1.0", "1.0", ""},
		{transfT + ";version=1.1", "1.1", ""},
		{transfT, "1.1", ""},
		{transfT + " ; version=1", "1.1", ""},
		{transfT + ";version=2.0," + transfT + ";version=1.0", "1.0", ""},
		{transfT + ";version=1.0," + transfT + ";version=1.1", "1.1", ""},
		{transfT + ";version=2," + transfT, "1.1", ""},
		{"", "", "3102 Missing mandatory element - Accept is required"},
		{"application/json", "", badAcc},
		{"*/*", "", badAcc},
		{transfT + ";version=1.0, " + transfT + ";version=1.1", "", badAcc},
		{transfT + ";version=", "", badAcc},
		{transfT + ";version=1.", "", badAcc},
		{transfT + ";q=0.9", "", badAcc},
		{"application/vnd.interoperability.quotes+json;version=1", "", badAcc},
		{transfT + ";version=2", "", accVer},
		{transfT + ";version=2.0", "", accVer},
		{transfT + ";version=1.2", "", accVer},
		{transfT + ";version=1.00", "", accVer},
	}
	for _, tt := range tests {
		v, err := NegotiateAccept(tt.v, "transfers")
		if v != tt.version || errText(err) != tt.err {
			t.Errorf("NegotiateAccept(%q) = %q, %q; want %q, %q", tt.v, v, errText(err), tt.version, tt.err)
		}
		var e *Error
		if errors.As(err, &e) && e.Code == UnacceptableVersion {
			if e.HTTPStatus() != 406 || len(e.Extensions) != 2 || e.Extensions[0] != (Extension{"1", "0"}) || e.Extensions[1] != (Extension{"1", "1"}) {
				t.Errorf("406 error: %d %+v", e.HTTPStatus(), e.Extensions)
			}
		}
	}
}

func TestContentTypeRoundTrip(t *testing.T) {
	for _, r := range []string{ResourceParties, ResourceParticipants, ResourceQuotes, ResourceTransfers} {
		for _, ver := range SupportedVersions() {
			if got, err := ParseContentType(ContentType(r, ver), r); got != ver || err != nil {
				t.Errorf("ParseContentType(ContentType(%s, %s)) = %q, %v", r, ver, got, err)
			}
		}
		if got, err := NegotiateAccept(Accept(r), r); got != DefaultVersion || err != nil {
			t.Errorf("NegotiateAccept(Accept(%s)) = %q, %v", r, got, err)
		}
	}
	if got := ContentType("parties", "1.1"); got != "application/vnd.interoperability.parties+json;version=1.1" {
		t.Errorf("ContentType = %q", got)
	}
}

func TestResource(t *testing.T) {
	for path, want := range map[string]string{
		"/parties/MSISDN/27713803912":       "parties",
		"/parties/MSISDN/27713803912/error": "parties",
		"/participants":                     "participants",
		"/transfers/85feac2f/error":         "transfers",
		"/quotes?x=1":                       "quotes",
		"transfers":                         "transfers",
		"/":                                 "",
		"":                                  "",
	} {
		if got := Resource(path); got != want {
			t.Errorf("Resource(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestDate(t *testing.T) {
	tm := time.Date(2026, 12, 7, 0, 50, 48, 999, time.FixedZone("X", 3600))
	if got := FormatDate(tm); got != "Sun, 06 Dec 2026 23:50:48 GMT" {
		t.Errorf("FormatDate = %q", got)
	}
	ok := map[string]time.Time{
		"Mon, 07 Dec 2026 00:50:48 GMT": time.Date(2026, 12, 7, 0, 50, 48, 0, time.UTC),
		"Thu, 01 Jan 1970 00:00:00 GMT": time.Unix(0, 0).UTC(),
	}
	for s, want := range ok {
		if got, err := ParseDate(s); err != nil || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v", s, got, err)
		}
	}
	bad := map[string]string{
		"":                               "3102 Missing required date header",
		"Mon, 7 Dec 2026 00:50:48 GMT":   "3101 Invalid date header",
		"Mon, 07 Dec 2026 00:50:48 UTC":  "3101 Invalid date header",
		"Mon, 07 Dec 2026 00:50:48":      "3101 Invalid date header",
		"2026-12-07T00:50:48Z":           "3101 Invalid date header",
		"Monday, 07-Dec-26 00:50:48 GMT": "3101 Invalid date header",
	}
	for s, want := range bad {
		_, err := ParseDate(s)
		var e *Error
		if !errors.As(err, &e) || e.Code.String()+" "+e.Detail != want {
			t.Errorf("ParseDate(%q) = %v, want %s", s, err, want)
		}
	}
}

func TestDateTime(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC), "2026-12-07T01:00:00.000Z"},
		{time.Date(2026, 12, 7, 3, 0, 0, 123456789, time.FixedZone("", 7200)), "2026-12-07T01:00:00.123Z"},
		{time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC), "2024-02-29T23:59:59.999Z"},
	}
	for _, tt := range tests {
		got := FormatDateTime(tt.t)
		if got != tt.want || !IsDateTime(got) {
			t.Errorf("FormatDateTime(%v) = %q, want %q", tt.t, got, tt.want)
		}
		back, err := ParseDateTime(got)
		if err != nil || !back.Equal(tt.t.Truncate(time.Millisecond)) {
			t.Errorf("ParseDateTime(%q) = %v, %v", got, back, err)
		}
	}
	if got, err := ParseDateTime("2026-12-07T03:00:00.000+02:00"); err != nil || !got.Equal(time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("offset: %v, %v", got, err)
	}
	for _, s := range []string{"2026-12-07T01:00:00Z", "2026-12-07T01:00:00.000000Z", "2026-12-07T01:00:00.000z", ""} {
		if _, err := ParseDateTime(s); errText(err) != "3101 Malformed syntax - not a DateTime with milliseconds (2006-01-02T15:04:05.000Z)" {
			t.Errorf("ParseDateTime(%q) = %v", s, err)
		}
	}
}
