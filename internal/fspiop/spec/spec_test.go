package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// message is one request or callback as a test builds it.
type message struct {
	version, method, path string
	h                     http.Header
	body                  string
}

const (
	transferID = "85feac2f-39b2-491b-817e-4a03203d4f14"
	quoteID    = "7c23e80c-d078-4077-8263-2c047876fcf6"
	requestID  = "b51ec534-ee48-4575-b6a9-ead2955b8069"
	date       = "Mon, 07 Dec 2026 00:50:48 GMT"
	packet     = "AYICxQAAAAAAACdCHWcucGF5ZWVmc3AubXNpc2RuLjI3NzEzODAzOTEy"
	condition  = "DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp_flx7qttdmgxw"
	fulfilment = "0jHsbrry53c0QMKTbRWRXaOMwU3zOpb6eX_NtbPuPuc"
)

// msg builds a v1.1 message with the headers a conforming sender puts on
// it: Accept only on requests (Mojaloop's SDK and hub send none on PUT and
// PATCH), the resource's versioned Content-Type on all.
func msg(method, path, body string) message {
	resource := strings.Split(strings.TrimPrefix(path, "/"), "/")[0]
	h := http.Header{}
	h.Set("Content-Type", "application/vnd.interoperability."+resource+"+json;version=1.1")
	if method != http.MethodPut && method != http.MethodPatch {
		h.Set("Accept", "application/vnd.interoperability."+resource+"+json;version=1")
	}
	h.Set("Date", date)
	h.Set("FSPIOP-Source", "payerfsp")
	h.Set("FSPIOP-Destination", "payeefsp")
	return message{version: "1.1", method: method, path: path, h: h, body: body}
}

// valid holds a conforming example of every operation the switch serves
// or sends (bodies from the research notes' §2.4, checked there with the
// prototype validator).
var valid = map[string]message{
	"GET parties":               msg("GET", "/parties/MSISDN/27713803912", ""),
	"GET parties plus-encoded":  msg("GET", "/parties/MSISDN/%2B27713803912", ""),
	"GET parties sub-id":        msg("GET", "/parties/PERSONAL_ID/8001015009087/PASSPORT", ""),
	"PUT parties masked name":   msg("PUT", "/parties/MSISDN/27713803912", `{"party":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"27713803912","fspId":"hulian-bank-a"},"name":"J*** D***"}}`),
	"PUT parties complex name":  msg("PUT", "/parties/MSISDN/27713803912", `{"party":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"27713803912","fspId":"payeefsp"},"merchantClassificationCode":"4321","name":"Zoë O'Brien-Núñez","personalInfo":{"complexName":{"firstName":"Zoe\u0308","middleName":"Ana María","lastName":"O'Brien-Núñez"},"dateOfBirth":"1984-02-29"}}}`),
	"PUT parties error":         msg("PUT", "/parties/MSISDN/27713803912/error", `{"errorInformation":{"errorCode":"3204","errorDescription":"Party not found"}}`),
	"PUT parties sub-id error":  msg("PUT", "/parties/PERSONAL_ID/8001015009087/PASSPORT/error", `{"errorInformation":{"errorCode":"3204","errorDescription":"Party not found","extensionList":{"extension":[{"key":"cause","value":"no such alias"}]}}}`),
	"POST participants":         msg("POST", "/participants/MSISDN/27713803912", `{"fspId":"payeefsp","currency":"USD"}`),
	"GET participants":          msg("GET", "/participants/MSISDN/27713803912?currency=USD", ""),
	"DELETE participants":       msg("DELETE", "/participants/MSISDN/27713803912", ""),
	"PUT participants":          msg("PUT", "/participants/MSISDN/27713803912", `{"fspId":"payeefsp"}`),
	"PUT participants deleted":  msg("PUT", "/participants/MSISDN/27713803912", `{}`),
	"POST participants bulk":    msg("POST", "/participants", `{"requestId":"`+requestID+`","partyList":[{"partyIdType":"MSISDN","partyIdentifier":"27713803912","fspId":"payeefsp"}],"currency":"USD"}`),
	"PUT participants bulk":     msg("PUT", "/participants/"+requestID, `{"partyList":[{"partyId":{"partyIdType":"MSISDN","partyIdentifier":"1","fspId":"x"}},{"partyId":{"partyIdType":"MSISDN","partyIdentifier":"2"},"errorInformation":{"errorCode":"3003","errorDescription":"Add Party information error"}}],"currency":"USD"}`),
	"PUT participants bulk err": msg("PUT", "/participants/"+requestID+"/error", `{"errorInformation":{"errorCode":"3100","errorDescription":"Generic validation error"}}`),
	"POST quotes":               msg("POST", "/quotes", `{"quoteId":"`+quoteID+`","transactionId":"`+transferID+`","payee":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"27713803912","fspId":"payeefsp"}},"payer":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"27713803913","fspId":"payerfsp"},"personalInfo":{"complexName":{"firstName":"Mats","lastName":"Hagman"},"dateOfBirth":"1983-10-25"}},"amountType":"SEND","amount":{"amount":"100","currency":"USD"},"transactionType":{"scenario":"TRANSFER","initiator":"PAYER","initiatorType":"CONSUMER"},"note":"lunch","expiration":"2026-12-07T01:00:00.000Z"}`),
	"GET quotes":                msg("GET", "/quotes/"+quoteID, ""),
	"PUT quotes":                msg("PUT", "/quotes/"+quoteID, `{"transferAmount":{"amount":"100.5","currency":"USD"},"payeeReceiveAmount":{"amount":"100","currency":"USD"},"payeeFspFee":{"amount":"0.5","currency":"USD"},"expiration":"2026-12-07T01:00:00.000+02:00","ilpPacket":"`+packet+`","condition":"`+condition+`"}`),
	"PUT quotes error":          msg("PUT", "/quotes/"+quoteID+"/error", `{"errorInformation":{"errorCode":"3302","errorDescription":"Quote expired"}}`),
	"POST transfers":            msg("POST", "/transfers", `{"transferId":"`+transferID+`","payeeFsp":"payeefsp","payerFsp":"payerfsp","amount":{"amount":"100.5","currency":"USD"},"ilpPacket":"`+packet+`","condition":"`+condition+`","expiration":"2026-12-07T01:00:00.000Z","extensionList":{"extension":[{"key":"k","value":"v"}]}}`),
	"POST transfers tiny":       msg("POST", "/transfers", `{"transferId":"`+transferID+`","payeeFsp":"payeefsp","payerFsp":"payerfsp","amount":{"amount":"0.0001","currency":"XTS"},"ilpPacket":"`+packet+`==","condition":"`+condition+`","expiration":"2024-02-29T23:59:59.999Z"}`),
	"GET transfers":             msg("GET", "/transfers/"+transferID, ""),
	"PUT transfers":             msg("PUT", "/transfers/"+transferID, `{"fulfilment":"`+fulfilment+`","completedTimestamp":"2026-12-07T00:59:01.123Z","transferState":"COMMITTED"}`),
	"PUT transfers reserved":    msg("PUT", "/transfers/"+transferID, `{"transferState":"RESERVED"}`),
	"PUT transfers error":       msg("PUT", "/transfers/"+transferID+"/error", `{"errorInformation":{"errorCode":"3303","errorDescription":"Transfer expired"}}`),
	"PATCH transfers":           msg("PATCH", "/transfers/"+transferID, `{"completedTimestamp":"2026-12-07T00:59:01.456Z","transferState":"COMMITTED"}`),
	"PUT transfers signed": func() message {
		m := msg("PUT", "/transfers/"+transferID, `{"transferState":"ABORTED"}`)
		m.h.Set("FSPIOP-Signature", `{"signature":"abc","protectedHeader":"def"}`)
		m.h.Set("FSPIOP-URI", "/transfers/"+transferID)
		m.h.Set("FSPIOP-HTTP-Method", "PUT")
		return m
	}(),
}

func (m message) clone() message {
	m.h = m.h.Clone()
	return m
}

func (m message) check(v *Validator) error {
	return v.Check(m.version, m.method, m.path, m.h, []byte(m.body))
}

func sorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestValidMessagesConform(t *testing.T) {
	v := Start(t)
	t.Logf("definitions from %s", v.Definitions())
	for _, name := range sorted(valid) {
		m := valid[name]
		t.Run(name, func(t *testing.T) {
			if err := m.check(v); err != nil {
				t.Errorf("v1.1: %v", err)
			}
			// Every operation but PATCH /transfers (new in 1.1) is in 1.0,
			// with bodies a 1.1 sender's also conform to.
			if m.method == http.MethodPatch {
				return
			}
			m10 := m.clone()
			m10.version = "1.0"
			m10.h.Set("Content-Type", strings.Replace(m.h.Get("Content-Type"), "version=1.1", "version=1.0", 1))
			if err := m10.check(v); err != nil {
				t.Errorf("v1.0: %v", err)
			}
		})
	}
}

// edit changes a message's JSON body: set puts value at a dotted path
// (array elements by index), a nil value deletes the field.
func edit(t *testing.T, m *message, path string, value any) {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(m.body), &doc); err != nil {
		t.Fatalf("base body: %v", err)
	}
	keys := strings.Split(path, ".")
	cur := doc
	for i, k := range keys {
		last := i == len(keys)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if value == nil {
					delete(c, k)
				} else {
					c[k] = value
				}
			}
			cur = c[k]
		case []any:
			n, err := strconv.Atoi(k)
			if err != nil || n >= len(c) {
				t.Fatalf("edit %s: no element %s", path, k)
			}
			if last {
				c[n] = value
			}
			cur = c[n]
		default:
			t.Fatalf("edit %s: %s is not inside an object or array", path, k)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	m.body = string(b)
}

func TestInvalidMessagesNameTheField(t *testing.T) {
	v := Start(t)
	set := func(path string, value any) func(*testing.T, *message) {
		return func(t *testing.T, m *message) { edit(t, m, path, value) }
	}
	header := func(name, value string) func(*testing.T, *message) {
		return func(_ *testing.T, m *message) {
			if value == "" {
				m.h.Del(name)
			} else {
				m.h.Set(name, value)
			}
		}
	}
	extensions := make([]any, 17)
	for i := range extensions {
		extensions[i] = map[string]any{"key": fmt.Sprint("k", i), "value": "v"}
	}
	tests := []struct {
		name, base string
		edit       func(*testing.T, *message)
		want       string
	}{
		{"missing transferId", "POST transfers", set("transferId", nil), "body: must have required property 'transferId'"},
		{"missing payee partyIdInfo", "POST quotes", set("payee.partyIdInfo", nil), "body/payee: must have required property 'partyIdInfo'"},
		{"missing PATCH completedTimestamp", "PATCH transfers", set("completedTimestamp", nil), "body: must have required property 'completedTimestamp'"},
		{"missing errorInformation", "PUT transfers error", set("errorInformation", nil), "body: must have required property 'errorInformation'"},
		{"amount with trailing zero", "POST transfers", set("amount.amount", "100.50"), "body/amount/amount: must match the Amount pattern"},
		{"amount with 5 decimals", "POST transfers", set("amount.amount", "0.00001"), "body/amount/amount: must match the Amount pattern"},
		{"amount as number", "POST transfers", set("amount.amount", 100), "body/amount/amount: must be string"},
		{"quote fee with leading zero", "PUT quotes", set("payeeFspFee.amount", "01"), "body/payeeFspFee/amount: must match the Amount pattern"},
		{"upper-case transferId", "POST transfers", set("transferId", strings.ToUpper(transferID)), "body/transferId: must match the CorrelationId pattern"},
		{"upper-case quoteId", "POST quotes", set("quoteId", strings.ToUpper(quoteID)), "body/quoteId: must match the CorrelationId pattern"},
		{"expiration without millis", "POST transfers", set("expiration", "2026-12-07T01:00:00Z"), "body/expiration: must match the DateTime pattern"},
		{"expiration with nanoseconds", "POST transfers", set("expiration", "2026-12-07T01:00:00.123456789Z"), "body/expiration: must match the DateTime pattern"},
		{"expiration on 29 Feb 2026", "POST transfers", set("expiration", "2026-02-29T01:00:00.000Z"), "body/expiration: must match the DateTime pattern"},
		{"completedTimestamp without millis", "PUT transfers", set("completedTimestamp", "2026-12-07T00:59:01Z"), "body/completedTimestamp: must match the DateTime pattern"},
		{"unknown transferState", "PUT transfers", set("transferState", "DONE"), "body/transferState: must be equal to one of the allowed values: RECEIVED, RESERVED, COMMITTED, ABORTED"},
		{"unknown amountType", "POST quotes", set("amountType", "send"), "body/amountType: must be equal to one of the allowed values"},
		{"unknown scenario", "POST quotes", set("transactionType.scenario", "P2P"), "body/transactionType/scenario: must be equal to one of the allowed values"},
		{"unknown currency", "POST transfers", set("amount.currency", "usd"), "body/amount/currency: must be equal to one of the allowed values"},
		{"unknown partyIdType", "PUT parties masked name", set("party.partyIdInfo.partyIdType", "PHONE"), "body/party/partyIdInfo/partyIdType: must be equal to one of the allowed values"},
		{"masked firstName", "PUT parties complex name", set("party.personalInfo.complexName.firstName", "J***"), "body/party/personalInfo/complexName/firstName: must match the FirstName pattern"},
		{"blank lastName", "PUT parties complex name", set("party.personalInfo.complexName.lastName", "   "), "body/party/personalInfo/complexName/lastName: must match the LastName pattern"},
		{"dateOfBirth with time", "PUT parties complex name", set("party.personalInfo.dateOfBirth", "1984-02-29T00:00:00.000Z"), "body/party/personalInfo/dateOfBirth: must match the DateOfBirth pattern"},
		{"party name too long", "PUT parties masked name", set("party.name", strings.Repeat("x", 129)), "body/party/name: must NOT have more than 128 characters"},
		{"errorCode as number", "PUT parties error", set("errorInformation.errorCode", 3204), "body/errorInformation/errorCode: must be string"},
		{"errorCode of 3 digits", "PUT parties error", set("errorInformation.errorCode", "320"), "body/errorInformation/errorCode: must match the ErrorCode pattern"},
		{"errorDescription too long", "PUT quotes error", set("errorInformation.errorDescription", strings.Repeat("d", 129)), "body/errorInformation/errorDescription: must NOT have more than 128 characters"},
		{"17 extensions", "POST transfers", set("extensionList.extension", extensions), "body/extensionList/extension: must NOT have more than 16 items"},
		{"empty ilpPacket", "POST transfers", set("ilpPacket", ""), "body/ilpPacket: must NOT have fewer than 1 characters"},
		{"condition with padding", "POST transfers", set("condition", condition+"="), "body/condition: must match the IlpCondition pattern"},
		{"fulfilment in standard base64", "PUT transfers", set("fulfilment", "0jHsbrry53c0QMKTbRWRXaOMwU3zOpb6eX/NtbPuPuc"), "body/fulfilment: must match the IlpFulfilment pattern"},
		{"bulk party without identifier", "PUT participants bulk", set("partyList.0.partyId.partyIdentifier", nil), "body/partyList/0/partyId: must have required property 'partyIdentifier'"},
		{"participants POST without fspId", "POST participants", set("fspId", nil), "body: must have required property 'fspId'"},
		{"body not JSON", "PUT transfers", func(_ *testing.T, m *message) { m.body = "{" }, "body: not JSON"},
		{"body on GET", "GET transfers", func(_ *testing.T, m *message) { m.body = "{}" }, "body: GET /transfers/{ID} takes no body"},
		{"no body on POST", "POST transfers", func(_ *testing.T, m *message) { m.body = "" }, "body: required (TransfersPostRequest)"},
		{"lower-case Type in path", "GET parties", func(_ *testing.T, m *message) { m.path = "/parties/msisdn/27713803912" }, "path {Type} (derived: PartyIdType): must be equal to one of the allowed values"},
		{"upper-case ID in path", "PUT transfers", func(_ *testing.T, m *message) { m.path = "/transfers/" + strings.ToUpper(transferID) }, "path {ID} (derived: CorrelationId): must match the pattern ^[0-9a-f]{8}"},
		{"bad percent-encoding", "GET parties", func(_ *testing.T, m *message) { m.path = "/parties/MSISDN/%zz" }, "path {ID}: bad percent-encoding"},
		{"unknown operation", "PUT quotes", func(_ *testing.T, m *message) { m.method = "PATCH" }, "(FSPIOP 1.1): no operation PATCH /quotes/" + quoteID + " in FSPIOP 1.1 (the path takes GET, PUT)"},
		{"unknown path", "GET parties", func(_ *testing.T, m *message) { m.path = "/party/MSISDN/1" }, "no operation GET /party/MSISDN/1"},
		{"PATCH in 1.0", "PATCH transfers", func(_ *testing.T, m *message) {
			m.version = "1.0"
			m.h.Set("Content-Type", "application/vnd.interoperability.transfers+json;version=1.0")
		}, "no operation PATCH /transfers/" + transferID + " in FSPIOP 1.0"},
		{"unknown version", "GET parties", func(_ *testing.T, m *message) { m.version = "2.0" }, `no definition for FSPIOP version "2.0"`},
		{"no Date", "POST transfers", header("Date", ""), "header Date: required"},
		{"ISO Date", "POST transfers", header("Date", "2026-12-07T00:50:48Z"), "header Date (derived)"},
		{"Date with wrong weekday", "PUT transfers", header("Date", "Tue, 07 Dec 2026 00:50:48 GMT"), "header Date (derived)"},
		{"no FSPIOP-Source", "PUT parties error", header("FSPIOP-Source", ""), "header FSPIOP-Source: required"},
		{"no Content-Type on GET", "GET parties", header("Content-Type", ""), "header Content-Type: required"},
		{"plain JSON Content-Type", "POST transfers", header("Content-Type", "application/json"), "header Content-Type (derived)"},
		{"Content-Type of another resource", "PUT transfers error", header("Content-Type", "application/vnd.interoperability.error+json;version=1.1"), "header Content-Type (derived)"},
		{"Content-Type without minor version", "PUT transfers", header("Content-Type", "application/vnd.interoperability.transfers+json;version=1"), "header Content-Type (derived)"},
		{"Content-Type of 1.0 checked as 1.1", "PUT transfers", header("Content-Type", "application/vnd.interoperability.transfers+json;version=1.0"), "header Content-Type (derived): version 1.0, but checked against the 1.1 definition"},
		{"no Accept on POST", "POST quotes", header("Accept", ""), "header Accept: required"},
		{"no Accept on GET", "GET parties", header("Accept", ""), "header Accept: required"},
		{"Accept of another resource", "GET quotes", header("Accept", "application/vnd.interoperability.transfers+json;version=1"), "header Accept (derived)"},
		{"signature without FSPIOP-URI", "PUT transfers signed", header("FSPIOP-URI", ""), "header FSPIOP-URI (derived): required with FSPIOP-Signature"},
		{"signature with another method", "PUT transfers signed", header("FSPIOP-HTTP-Method", "put"), `header FSPIOP-HTTP-Method (derived): "put", but the method is PUT`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, ok := valid[tt.base]
			if !ok {
				t.Fatalf("no valid message %q", tt.base)
			}
			m := base.clone()
			tt.edit(t, &m)
			err := m.check(v)
			if !errors.Is(err, ErrNonconforming) {
				t.Fatalf("got %v, want ErrNonconforming", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not say %q:\n%v", tt.want, err)
			}
		})
	}
}

func TestHeadersAreOptionalToCheck(t *testing.T) {
	v := Start(t)
	m := valid["POST transfers"]
	if err := v.Check("1.1", m.method, m.path, nil, []byte(m.body)); err != nil {
		t.Errorf("nil headers: %v", err)
	}
	// Accept is not declared on callbacks: sending one is no failure.
	m = valid["PUT transfers"].clone()
	m.h.Set("Accept", "application/vnd.interoperability.transfers+json;version=1.1")
	if err := m.check(v); err != nil {
		t.Errorf("Accept on PUT: %v", err)
	}
}

func TestResponses(t *testing.T) {
	v := Start(t)
	errBody := `{"errorInformation":{"errorCode":"3100","errorDescription":"Generic validation error - amount"}}`
	tests := []struct {
		name, method, path string
		status             int
		body, want         string // want "" means it conforms
	}{
		{"POST accepted", "POST", "/transfers", 202, "", ""},
		{"GET accepted", "GET", "/parties/MSISDN/1", 202, "", ""},
		{"PUT ok", "PUT", "/transfers/" + transferID, 200, "", ""},
		{"PATCH ok", "PATCH", "/transfers/" + transferID, 200, "", ""},
		{"error callback ok", "PUT", "/quotes/" + quoteID + "/error", 200, "", ""},
		{"400 with error", "POST", "/transfers", 400, errBody, ""},
		{"406 with error", "POST", "/quotes", 406, `{"errorInformation":{"errorCode":"3001","errorDescription":"Unacceptable version requested","extensionList":{"extension":[{"key":"1","value":"0"},{"key":"1","value":"1"}]}}}`, ""},
		{"503 with empty errorInformation response", "GET", "/transfers/" + transferID, 503, `{}`, ""},
		{"202 with a body", "POST", "/transfers", 202, `{}`, "body: status 202 declares no body"},
		{"POST answered 200", "POST", "/transfers", 200, "", "status 200: not an answer POST /transfers declares"},
		{"PUT answered 202", "PUT", "/transfers/" + transferID, 202, "", "status 202: not an answer PUT /transfers/{ID} declares"},
		{"500 is not declared", "POST", "/transfers", 500, errBody, "status 500: not an answer POST /transfers declares (202, 400, 401, 403, 404, 405, 406, 501, 503)"},
		{"400 without a body", "POST", "/transfers", 400, "", "body: missing (status 400 answers with ErrorInformationResponse)"},
		{"400 with a bad errorCode", "POST", "/transfers", 400, `{"errorInformation":{"errorCode":"31OO","errorDescription":"x"}}`, "body/errorInformation/errorCode: must match the ErrorCode pattern"},
		{"400 with a problem document", "POST", "/transfers", 400, `{"errorInformation":{"type":"about:blank","title":"Bad Request"}}`, "body/errorInformation: must have required property 'errorCode'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.CheckResponse("1.1", tt.method, tt.path, tt.status, []byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want it to conform", err)
			case tt.want != "" && !errors.Is(err, ErrNonconforming):
				t.Errorf("got %v, want ErrNonconforming", err)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error does not say %q:\n%v", tt.want, err)
			}
		})
	}
}

// TestConcurrentCalls: answers reach their own callers when many
// goroutines share the process.
func TestConcurrentCalls(t *testing.T) {
	v := Start(t)
	good := valid["POST transfers"]
	bad := good.clone()
	edit(t, &bad, "amount.amount", "1.10")
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				m := good
				if (g+i)%3 == 0 {
					m = bad
				}
				err := m.check(v)
				if m.body == bad.body && !errors.Is(err, ErrNonconforming) {
					errs <- fmt.Errorf("goroutine %d call %d: invalid message answered %v", g, i, err)
				}
				if m.body == good.body && err != nil {
					errs <- fmt.Errorf("goroutine %d call %d: valid message answered %v", g, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestMiddleware: Transport and Handler see the same exchanges from the
// two ends, record what does not conform, and change nothing.
func TestMiddleware(t *testing.T) {
	server, client := Start(t), Start(t)
	var got []string
	var mu sync.Mutex
	dfsp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/boom"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"errorInformation":{"errorCode":"2001","errorDescription":"Internal server error"}}`)
		case r.Method == http.MethodPut || r.Method == http.MethodPatch:
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	srv := httptest.NewServer(server.Handler(dfsp))
	defer srv.Close()
	hc := &http.Client{Transport: client.Transport(srv.Client().Transport)}

	send := func(m message) int {
		t.Helper()
		req, err := http.NewRequest(m.method, srv.URL+m.path, strings.NewReader(m.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = m.h.Clone()
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusInternalServerError && !strings.Contains(string(b), "2001") {
			t.Errorf("answer body not passed on: %q", b)
		}
		return resp.StatusCode
	}
	for _, name := range []string{"POST transfers", "PUT transfers", "PATCH transfers", "GET parties", "PUT parties error"} {
		send(valid[name])
	}
	if f := server.Failures(); len(f) > 0 {
		t.Errorf("handler: conforming exchanges recorded as failures:\n%s", strings.Join(f, "\n"))
	}
	if f := client.Failures(); len(f) > 0 {
		t.Errorf("transport: conforming exchanges recorded as failures:\n%s", strings.Join(f, "\n"))
	}

	bad := valid["PUT transfers"].clone()
	edit(t, &bad, "transferState", "DONE")
	send(bad)
	boom := valid["GET transfers"].clone()
	boom.path = "/transfers/" + transferID + "/boom"
	if code := send(boom); code != http.StatusInternalServerError {
		t.Errorf("status %d passed on, want 500", code)
	}
	for who, v := range map[string]*Validator{"handler": server, "transport": client} {
		f := v.Failures()
		if len(f) != 3 ||
			!strings.Contains(f[0], "body/transferState: must be equal to one of the allowed values") ||
			!strings.Contains(f[1], "no operation GET /transfers/"+transferID+"/boom") ||
			!strings.Contains(f[2], "answered 500") {
			t.Errorf("%s: failures\n%s\nwant the bad state, the unknown path and its answer", who, strings.Join(f, "\n"))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 7 || got[0] != valid["POST transfers"].body || got[5] != bad.body {
		t.Errorf("bodies not passed on unchanged: %q", got)
	}
}

func TestVersionOf(t *testing.T) {
	tests := []struct{ contentType, want string }{
		{"application/vnd.interoperability.transfers+json;version=1.0", "1.0"},
		{"application/vnd.interoperability.transfers+json; version=1.1", "1.1"},
		{"application/vnd.interoperability.transfers+json;version=2.0", DefaultVersion},
		{"application/json", DefaultVersion},
		{"", DefaultVersion},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.contentType != "" {
			h.Set("Content-Type", tt.contentType)
		}
		if got := versionOf(h); got != tt.want {
			t.Errorf("versionOf(%q) = %q, want %q", tt.contentType, got, tt.want)
		}
	}
}
