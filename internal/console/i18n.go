package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/hulian/hulian/internal/money"
)

// Lang is a language of the console.
type Lang string

// The languages: Simplified Chinese, the scheme's own, and English.
const (
	Chinese Lang = "zh"
	English Lang = "en"
)

// Langs lists the languages in the order the switch offers them.
func Langs() []Lang { return []Lang{Chinese, English} }

// Tag is the language's BCP 47 tag, for the page's lang attribute.
func (l Lang) Tag() string {
	if l == Chinese {
		return "zh-CN"
	}
	return "en"
}

// T is the message of key in l, or in English if l lacks it, or the key
// itself (a test keeps the catalogs whole).
func (l Lang) T(key string) string {
	if m, ok := catalogs[l][key]; ok {
		return m
	}
	if m, ok := catalogs[English][key]; ok {
		return m
	}
	return key
}

// parseLang returns the console language s names ("zh", "zh-CN",
// "zh-Hans", "en-US" …), if any. Traditional Chinese tags are not
// Simplified Chinese: the console does not speak them.
func parseLang(s string) (Lang, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "zh" || s == "zh-cn" || s == "zh-sg" || strings.HasPrefix(s, "zh-hans"):
		return Chinese, true
	case s == "en" || strings.HasPrefix(s, "en-"):
		return English, true
	}
	return "", false
}

// negotiate picks the language of an Accept-Language header: the one
// of the highest weight the console speaks, the first of equals;
// Chinese when it names none.
func negotiate(header string) Lang {
	best, bestQ := Chinese, -1.0
	for i, part := range strings.Split(header, ",") {
		if i >= 32 {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if l, ok := parseLang(tag); ok && q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// language is the language of r: its ?lang= (which also sets the
// language cookie, so that it stays), else the cookie, else its
// Accept-Language.
func (c *Console) language(w http.ResponseWriter, r *http.Request) Lang {
	if q := r.URL.Query().Get("lang"); q != "" {
		if l, ok := parseLang(q); ok {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: Prefix, MaxAge: 365 * 24 * 3600,
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
			return l
		}
	}
	if ck, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(ck.Value); ok {
			return l
		}
	}
	return negotiate(r.Header.Get("Accept-Language"))
}

// FormatAmount writes amount (minor units of cur) for people reading l:
// digits grouped by thousands, the currency's decimals, and its code
// (¥ for the yuan in Chinese): "CNY 1,234.56", "¥1,234.56".
func FormatAmount(l Lang, amount money.Amount, cur money.Currency) string {
	s := amount.Format(cur)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if l == Chinese && cur.String() == "CNY" {
		b.WriteString("¥")
	} else {
		b.WriteString(cur.String() + " ")
	}
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(whole[i])
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// catalogs are the console's messages by language and key. Keys are
// dotted: the part of the console, then the message.
var catalogs = map[Lang]map[string]string{
	English: {
		"app.title":               "Hulian console",
		"nav.dashboard":           "Dashboard",
		"nav.participants":        "Participants",
		"nav.transfers":           "Transfers",
		"nav.settlement":          "Settlement",
		"nav.audit":               "Audit",
		"nav.risk":                "Risk",
		"nav.users":               "Users",
		"nav.signout":             "Sign out",
		"nav.signedin":            "Signed in as",
		"nav.language":            "Language",
		"lang.zh":                 "中文",
		"lang.en":                 "English",
		"role.operator-admin":     "operator administrator",
		"role.operator-viewer":    "operator viewer",
		"role.regulator":          "regulator",
		"role.participant-admin":  "participant administrator",
		"role.participant-viewer": "participant viewer",
		"login.title":             "Sign in",
		"login.intro":             "Sign in with your password and the 6-digit code of your authenticator app.",
		"login.username":          "Username",
		"login.password":          "Password",
		"login.totp":              "Authentication code",
		"login.submit":            "Sign in",
		"login.failed":            "Sign-in failed: the username, password or code is wrong, or the account is locked for a while.",
		"login.busy":              "Too many sign-ins at the moment; try again in a few seconds.",
		"logout.title":            "Sign out",
		"logout.confirm":          "Sign out of the console?",
		"logout.submit":           "Sign out",
		"logout.done":             "You are signed out.",
		"dashboard.title":         "Dashboard",
		"placeholder.body":        "This page is being built.",
		"error.title":             "Not done",
		"error.forbidden":         "You may not do this.",
		"error.readonly":          "Your role reads and changes nothing; nothing was changed.",
		"error.csrf":              "The form has expired or did not come from this console; nothing was changed. Reload the page and try again.",
		"error.session":           "Your session has ended; sign in again.",
		"error.notfound":          "There is no such page.",
		"error.internal":          "Something went wrong on the switch; nothing may have been done. Try again later.",
		"error.back":              "Back to the dashboard",
	},
	Chinese: {
		"app.title":               "互联 控制台",
		"nav.dashboard":           "总览",
		"nav.participants":        "参与机构",
		"nav.transfers":           "交易",
		"nav.settlement":          "清算",
		"nav.audit":               "审计",
		"nav.risk":                "风控",
		"nav.users":               "用户",
		"nav.signout":             "退出登录",
		"nav.signedin":            "当前用户",
		"nav.language":            "语言",
		"lang.zh":                 "中文",
		"lang.en":                 "English",
		"role.operator-admin":     "运营管理员",
		"role.operator-viewer":    "运营只读用户",
		"role.regulator":          "监管机构",
		"role.participant-admin":  "机构管理员",
		"role.participant-viewer": "机构只读用户",
		"login.title":             "登录",
		"login.intro":             "请输入密码及身份验证器应用显示的 6 位动态验证码。",
		"login.username":          "用户名",
		"login.password":          "密码",
		"login.totp":              "动态验证码",
		"login.submit":            "登录",
		"login.failed":            "登录失败：用户名、密码或验证码有误，或账户暂时被锁定。",
		"login.busy":              "登录请求过多，请稍后几秒再试。",
		"logout.title":            "退出登录",
		"logout.confirm":          "确定退出控制台？",
		"logout.submit":           "退出登录",
		"logout.done":             "您已退出登录。",
		"dashboard.title":         "总览",
		"placeholder.body":        "此页面正在建设中。",
		"error.title":             "未执行",
		"error.forbidden":         "您无权执行此操作。",
		"error.readonly":          "您的角色仅可查看，未做任何更改。",
		"error.csrf":              "表单已过期或并非来自本控制台，未做任何更改。请刷新页面后重试。",
		"error.session":           "会话已结束，请重新登录。",
		"error.notfound":          "页面不存在。",
		"error.internal":          "交换系统出现错误，操作可能未完成。请稍后重试。",
		"error.back":              "返回总览",
	},
}
