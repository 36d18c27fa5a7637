package wallet

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
)

// lang is a language of the pages: English or Simplified Chinese.
type lang int

const (
	en lang = iota
	zh
)

// code is the language's BCP 47 tag, for the page's lang attribute.
func (l lang) code() string {
	if l == zh {
		return "zh-Hans"
	}
	return "en"
}

// langCookie remembers the language a user chose with a switch link.
const langCookie = "wallet_lang"

// parseLang reads a language a link or a cookie names.
func parseLang(s string) (lang, bool) {
	switch s {
	case "en":
		return en, true
	case "zh":
		return zh, true
	}
	return en, false
}

// pickLang chooses the page's language: the one chosen with a switch
// link (?lang=, remembered in a cookie), else Accept-Language's.
func pickLang(r *http.Request) lang {
	if l, ok := parseLang(r.URL.Query().Get("lang")); ok {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(c.Value); ok {
			return l
		}
	}
	return negotiate(r.Header.Get("Accept-Language"))
}

// negotiate picks the language of an Accept-Language header (RFC 9110,
// 12.5.4) that the user weighs most: any zh tag is Simplified Chinese
// (the only Chinese the pages speak), any en tag English; English when
// neither is acceptable. Quality values are read to the thousandth, as
// the RFC bounds them, into integers.
func negotiate(header string) lang {
	best, bestQ := en, -1
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1000
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q = quality(v)
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		var l lang
		switch base {
		case "zh":
			l = zh
		case "en":
			l = en
		default:
			continue
		}
		if q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// quality reads a quality value ("0.8", "1", "0.125") in thousandths;
// anything else is 0 (not acceptable).
func quality(v string) int {
	ip, frac, _ := strings.Cut(v, ".")
	if ip != "0" && ip != "1" || len(frac) > 3 {
		return 0
	}
	frac += strings.Repeat("0", 3-len(frac))
	n, err := strconv.Atoi(frac)
	if err != nil || ip == "1" && n != 0 {
		return 0
	}
	if ip == "1" {
		return 1000
	}
	return n
}

// messages are the pages' texts: English, then Simplified Chinese. A
// text with verbs is a fmt format; indexed verbs (%[2]s) let the two
// languages order the arguments their own way.
var messages = map[string][2]string{
	"demo_wallet":  {"demo wallet", "演示钱包"},
	"nav_home":     {"Wallet", "钱包"},
	"nav_history":  {"Bills", "账单"},
	"nav_stats":    {"Statistics", "统计"},
	"hello":        {"Hello, %s", "%s，您好"},
	"balance":      {"Balance", "余额"},
	"available":    {"available %s", "可用 %s"},
	"held":         {"%s held for payments in flight", "%s 支付处理中"},
	"your_aliases": {"Others pay you at", "收款别名"},
	"pay_title":    {"Pay someone", "转账付款"},
	"alias_type":   {"Alias type", "别名类型"},
	"alias":        {"Alias", "别名"},
	"amount":       {"Amount", "金额"},
	"note":         {"Note (optional)", "备注（可选）"},
	"next":         {"Next: check the payee", "下一步：确认收款人"},
	"type_MSISDN":  {"Mobile number", "手机号"},
	"type_EMAIL":   {"E-mail", "电子邮箱"},
	"type_RANDOM":  {"Random key", "随机码"},
	"type_MERCHANT": {
		"Merchant ID", "商户号"},
	"type_NATIONAL_ID": {"National ID", "身份证号"},
	"type_ACCOUNT":     {"Request to pay", "收款请求"},
	"type_REFUND":      {"Refund", "退款"},
	"type_DISPUTE":     {"Dispute", "争议退回"},
	"contacts":         {"Contacts", "联系人"},
	"pay_contact":      {"Pay", "付款"},
	"confirm_title":    {"Confirm the payee", "确认收款人"},
	"confirm_text":     {"The switch says %[1]s belongs to", "互联平台显示 %[1]s 的持有人为"},
	"confirm_at":       {"account at %s", "开户机构：%s"},
	"confirm_hint": {"The name is masked for privacy. Pay only if this is who you mean: a payment cannot be taken back.",
		"为保护隐私，姓名已部分隐藏。请确认是您要付款的人：付款后无法撤回。"},
	"fraud_marks":      {"Warning: %d open fraud report(s) against this alias.", "警告：该别名有 %d 条未结欺诈举报。"},
	"confirm":          {"Pay %s", "确认付款 %s"},
	"cancel":           {"Cancel", "取消"},
	"requests":         {"Requests to pay", "待付请求"},
	"no_requests":      {"No request is waiting for you.", "暂无待付请求。"},
	"request_from":     {"%[1]s asks you for %[2]s", "%[1]s 向您请求付款 %[2]s"},
	"expires":          {"expires %s", "%s 到期"},
	"accept":           {"Pay it", "付款"},
	"decline":          {"Decline", "拒绝"},
	"recent":           {"Latest payments", "最近交易"},
	"all_bills":        {"All bills", "全部账单"},
	"no_history":       {"No payment yet.", "暂无交易。"},
	"spent":            {"spent %s", "支出 %s"},
	"received":         {"received %s", "收入 %s"},
	"fee":              {"fee %s", "手续费 %s"},
	"history_title":    {"Bills by month and category", "按月份与分类的账单"},
	"stats_title":      {"Spending statistics", "支出统计"},
	"by_month":         {"Spending by month", "每月支出"},
	"by_category":      {"Spending by category, %s", "%s 支出分类"},
	"no_spending":      {"No spending in %s.", "%s 暂无支出。"},
	"share":            {"%d%%", "%d%%"},
	"total":            {"Total", "合计"},
	"chart_month_desc": {"Stacked bars: each month's spending, by category.", "堆叠柱状图：每月支出，按分类。"},
	"chart_cat_desc":   {"Bars: the month's spending in each category.", "条形图：当月各分类支出。"},
	"cat_shopping":     {"Shopping", "购物消费"},
	"cat_bills":        {"Bills paid", "账单缴费"},
	"cat_transfers":    {"Transfers to people", "个人转账"},
	"cat_received":     {"Money received", "收款"},
	"cat_requested":    {"Your requests, paid", "您的收款请求"},
	"cat_refunds":      {"Refunds", "退款"},
	"cat_other":        {"Other", "其他"},
	"entry_from":       {"From a user of %s", "来自 %s 的用户"},
	"entry_requested":  {"Your request, paid via %s", "您的收款请求，经 %s 支付"},
	"entry_refund":     {"Refund via %s", "经 %s 的退款"},
	"entry_request":    {"Request of %s", "%s 的收款请求"},
	"receipt_title":    {"Payment", "付款结果"},
	"paid_ok":          {"Paid %[1]s to %[2]s.", "已向 %[2]s 付款 %[1]s。"},
	"bill_paid":        {"Request paid: %[1]s to %[2]s.", "已支付请求：向 %[2]s 付款 %[1]s。"},
	"bill_declined":    {"Request declined: %s will be told.", "已拒绝请求，将通知 %s。"},
	"transfer_id":      {"Transfer %s", "交易编号 %s"},
	"back":             {"Back to the wallet", "返回钱包"},
	"try_again":        {"Try again", "重试"},
	"forbidden_title":  {"This form cannot be used", "表单无法使用"},
	"footer": {"A simulated user of the simulated wallet %s, which talks to the Hulian switch with its own API key, kept on the server.",
		"模拟钱包 %s 的模拟用户；该钱包使用自己的 API 密钥（仅保存在服务器端）与互联平台通信。"},
	"lang_switch": {"中文", "English"},

	// Errors: of the form, of the switch (by problem type), of the books.
	"err_csrf": {"This form expired or was sent already. Nothing was paid: start again from the wallet.",
		"表单已过期或已提交，未发生付款。请从钱包重新开始。"},
	"err_alias":          {"Enter the payee's alias.", "请输入收款人别名。"},
	"err_type":           {"Choose an alias type.", "请选择别名类型。"},
	"err_amount":         {"Enter an amount above zero, with at most %d decimals.", "请输入大于零的金额，最多 %d 位小数。"},
	"err_note":           {"The note is too long (at most %d characters).", "备注过长（最多 %d 个字符）。"},
	"err_expired":        {"This confirmation expired. Nothing was paid: start again.", "确认已过期，未发生付款。请重新开始。"},
	"err_no_bill":        {"This request is no longer waiting for you.", "该请求已不在待付列表中。"},
	"err_own_wallet":     {"%[1]s is a user of %[2]s too: pay them inside the wallet (not simulated here), not through the switch.", "%[1]s 也是 %[2]s 的用户：请在钱包内转账（本演示未模拟），无需经过互联平台。"},
	"err_other_currency": {"This payee's account is in %s: cross-border payments are not offered in this wallet.", "该收款人的账户币种为 %s：本钱包不提供跨境付款。"},
	"err_balance":        {"Your available balance is too low for this payment.", "您的可用余额不足以支付此笔款项。"},
	"err_busy":           {"The wallet is reconciling its books with the switch. Nothing was paid: try again in a moment.", "钱包正在与互联平台对账，未发生付款。请稍后重试。"},
	"err_unknown": {"No final answer from the switch yet. The money stays held until the wallet learns the outcome.",
		"尚未收到互联平台的最终结果。款项将保持冻结，直至钱包获知结果。"},
	"err_aborted": {"The payee's provider did not take the payment (%s). Nothing was taken from your balance.",
		"收款机构未接受该笔付款（%s），您的余额未被扣减。"},
	"err_unreachable": {"The switch could not be reached. Nothing was paid.", "无法连接互联平台，未发生付款。"},
	"err_problem":     {"The switch refused: %s. Nothing was paid.", "互联平台拒绝了该请求：%s。未发生付款。"},

	"problem_unknown-party": {"No one is registered under this alias. Check it and try again.",
		"该别名尚未注册，请核对后重试。"},
	"problem_insufficient-funds": {"%s's settlement account at the switch cannot cover this payment now. Nothing was taken from your balance.",
		"%s 在互联平台的结算账户暂时无法覆盖此笔付款，您的余额未被扣减。"},
	"problem_same-participant": {"The payee is a user of this wallet too: the switch only carries payments between providers.",
		"收款人也是本钱包用户：互联平台只处理不同机构之间的付款。"},
	"problem_participant-suspended": {"The payee's provider is suspended from the scheme for now.", "收款机构目前已被暂停。"},
	"problem_currency-not-enabled":  {"The payee's provider does not take this currency.", "收款机构不接受该币种。"},
	"problem_rate-limited":          {"Too many requests just now: wait a moment and try again.", "请求过于频繁，请稍后重试。"},
	"problem_unavailable":           {"The switch is unavailable for now. Nothing was paid.", "互联平台暂时不可用，未发生付款。"},
	"problem_invalid-request":       {"The switch found the request invalid.", "互联平台认为该请求无效。"},
	"problem_fx-quote-required":     {"This payee's account is in another currency: cross-border payments are not offered in this wallet.", "该收款人的账户为其他币种：本钱包不提供跨境付款。"},
	"problem_payment-request-not-pending": {"This request is no longer waiting: paid, declined or expired.",
		"该请求已不再待付：已支付、已拒绝或已过期。"},
	"problem_payment-request-expired": {"This request expired.", "该请求已过期。"},
	"problem_payment-aborted": {"The requester's provider did not take the payment. Nothing was taken from your balance; the request waits again.",
		"请求方机构未接受该笔付款，您的余额未被扣减；该请求仍待支付。"},
	"problem_risk-declined": {"The switch's risk control declined this payment.", "互联平台风控拒绝了此笔付款。"},
	"problem_risk-limit":    {"A risk control limit of the switch would be exceeded.", "将超出互联平台的风控限额。"},
	"problem_transfer-held": {"The switch's risk control holds this payment for review; the money stays held until it is decided.",
		"互联平台风控正在审核此笔付款；审核结束前款项保持冻结。"},
}

// locale renders texts, amounts and dates in one language. Templates
// call its methods.
type locale struct {
	lang lang
	loc  *time.Location
}

// T returns the text of key, formatted with args.
func (l *locale) T(key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return m[l.lang]
	}
	return fmt.Sprintf(m[l.lang], args...)
}

// Has reports whether key has a text.
func (l *locale) Has(key string) bool {
	_, ok := messages[key]
	return ok
}

// Code is the language's tag.
func (l *locale) Code() string { return l.lang.code() }

// Other is the language the switch link leads to.
func (l *locale) Other() string {
	if l.lang == zh {
		return "en"
	}
	return "zh"
}

// symbols are the currency signs people expect, by language; a currency
// without one is written with its code.
var symbols = map[string][2]string{
	"CNY": {"CN¥", "¥"},
	"HKD": {"HK$", "港元 "},
	"USD": {"US$", "美元 "},
	"EUR": {"€", "€"},
	"JPY": {"JP¥", "日元 "},
	"SGD": {"S$", "新元 "},
}

// Money formats amount a of currency c as people read it: the sign,
// the currency's symbol, thousands separators, the currency's decimals
// ("CN¥1,234.50", "¥1,234.50", "−HK$3.00").
func (l *locale) Money(a money.Amount, c money.Currency) string {
	sign := ""
	if a < 0 {
		sign, a = "−", -a
	}
	sym := c.String() + " "
	if s, ok := symbols[c.String()]; ok {
		sym = s[l.lang]
	}
	return sign + sym + sim.GroupDigits(a.Format(c))
}

// Signed formats a statement amount: + for money received, − for money
// paid.
func (l *locale) Signed(a money.Amount, c money.Currency, incoming bool) string {
	if incoming {
		return "+" + l.Money(a, c)
	}
	return l.Money(-a, c)
}

// Month names a month ("December 2026", "2026年12月").
func (l *locale) Month(m month) string {
	if l.lang == zh {
		return fmt.Sprintf("%d年%d月", m.year, m.month)
	}
	return fmt.Sprintf("%s %d", m.month, m.year)
}

// ShortMonth names a month in a chart's axis ("Dec", "12月").
func (l *locale) ShortMonth(m month) string {
	if l.lang == zh {
		return fmt.Sprintf("%d月", m.month)
	}
	return m.month.String()[:3]
}

// Day formats a time within a month's list ("Dec 2, 15:04", "12月2日 15:04").
func (l *locale) Day(t time.Time) string {
	t = t.In(l.loc)
	if l.lang == zh {
		return fmt.Sprintf("%d月%d日 %s", t.Month(), t.Day(), t.Format("15:04"))
	}
	return t.Format("Jan 2, 15:04")
}

// When formats a full time ("2 Dec 2026 15:04", "2026年12月2日 15:04").
func (l *locale) When(t time.Time) string {
	t = t.In(l.loc)
	if l.lang == zh {
		return fmt.Sprintf("%d年%d月%d日 %s", t.Year(), t.Month(), t.Day(), t.Format("15:04"))
	}
	return t.Format("2 Jan 2006 15:04")
}

// Round formats an axis's amount: Money without the decimals when they
// are all zero ("¥1,000").
func (l *locale) Round(a money.Amount, c money.Currency) string {
	s := l.Money(a, c)
	if c.Exponent() > 0 {
		s, _ = strings.CutSuffix(s, "."+strings.Repeat("0", c.Exponent()))
	}
	return s
}
