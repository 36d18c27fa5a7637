package dfsp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/sim/dfsp"
)

// FuzzServeHTTP feeds a DFSP arbitrary inbound messages with valid
// headers: whatever the method, path and body, it must answer 200 or 202
// with no body, or an FSPIOP error body with the status of its code.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", "/parties/MSISDN/27713803912", "")
	f.Add("PUT", "/parties/MSISDN/27713803912/error", `{"errorInformation":{"errorCode":"3204","errorDescription":"x"}}`)
	f.Add("POST", "/quotes", `{"quoteId":"7c23e80c-d078-4077-8263-2c047876fcf6"}`)
	f.Add("PUT", "/transfers/85feac2f-39b2-491b-817e-4a03203d4f14", `{"transferState":"COMMITTED","fulfilment":"0jHsbrry53c0QMKTbRWRXaOMwU3zOpb6eX_NtbPuPuc"}`)
	f.Add("PATCH", "/transfers/85feac2f-39b2-491b-817e-4a03203d4f14", `{"transferState":"COMMITTED","completedTimestamp":"2026-12-07T01:00:00.000Z"}`)
	f.Add("PUT", "/participants/85feac2f-39b2-491b-817e-4a03203d4f14", `{"partyList":[]}`)
	f.Add("PUT", "/participants/MSISDN/1/SUB/error", `{}`)
	f.Add("GET", "/%zz/", "")
	d, err := dfsp.New(dfsp.Config{ID: "payeefsp", SwitchURL: "http://127.0.0.1:1", ILPSecret: secret, Currency: "USD",
		Timeout: 50 * time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	defer d.Close()
	d.AddParty(msg.MSISDN, "27713803912", "Bob Beta")
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#") {
			return
		}
		r, err := http.NewRequest(method, "http://dfsp"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		res := msg.Resource(path)
		r.Header.Set("Content-Type", msg.ContentType(res, msg.Version11))
		if method != http.MethodPut && method != http.MethodPatch {
			r.Header.Set("Accept", msg.Accept(res))
		}
		r.Header.Set("Date", msg.FormatDate(time.Now()))
		r.Header.Set("FSPIOP-Source", "payerfsp")
		w := httptest.NewRecorder()
		d.ServeHTTP(w, r)
		if w.Code == http.StatusOK || w.Code == http.StatusAccepted {
			if w.Body.Len() != 0 {
				t.Fatalf("%s %s: %d with body %q", method, path, w.Code, w.Body)
			}
			return
		}
		var eb msg.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Validate() != nil {
			t.Fatalf("%s %s: %d %q is no FSPIOP error", method, path, w.Code, w.Body)
		}
		if (&msg.Error{Code: eb.ErrorInformation.Code()}).HTTPStatus() != w.Code && w.Code != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s: %d for %s", method, path, w.Code, eb.ErrorInformation.ErrorCode)
		}
	})
}
