package fspiop

import (
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/participant"
)

// TestFarName: a far scheme's name for its user is cut and cleaned
// before it is masked: it is not trusted to be short or printable.
func TestFarName(t *testing.T) {
	for _, c := range []struct {
		name string
		p    msg.Party
		want string
	}{
		{"name", msg.Party{Name: "C*** T** M**"}, "C*** T** M**"},
		{"complex name", msg.Party{PersonalInfo: &msg.PersonalInfo{ComplexName: &msg.ComplexName{FirstName: "Tai", LastName: "Chan"}}}, "Tai Chan"},
		{"control characters", msg.Party{Name: "Chan\x00Tai\u202eMan"}, "Chan Tai Man"},
		{"long", msg.Party{Name: strings.Repeat("長", 500)}, strings.Repeat("長", farNameMax)},
		{"none", msg.Party{}, ""},
	} {
		if got := farName(&c.p); got != c.want {
			t.Errorf("%s: farName = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestSourceAt: a scheme link is asked as the id the far scheme knows
// this switch by; any other FSP as the native payer itself.
func TestSourceAt(t *testing.T) {
	link := participant.Participant{ID: "hk-link", Kind: participant.Scheme, FSPIOP: &participant.FSPIOP{Endpoint: "http://b", LinkID: "cn-link"}}
	fsp := participant.Participant{ID: "payeefsp", Kind: participant.Wallet, FSPIOP: &participant.FSPIOP{Endpoint: "http://p"}}
	if got := sourceAt(link, "a1"); got != "cn-link" || !isLink(link) {
		t.Errorf("link: %q %v", got, isLink(link))
	}
	if got := sourceAt(fsp, "a1"); got != "a1" || isLink(fsp) {
		t.Errorf("FSP: %q %v", got, isLink(fsp))
	}
	if waitKey("transfers", "hk-link", "cn-link", "/transfers/x") == waitKey("transfers", "payeefsp", "cn-link", "/transfers/x") {
		t.Error("a callback from another FSP would be taken for the one asked")
	}
}
