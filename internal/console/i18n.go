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

// Has reports whether key is a message of the catalogs.
func (l Lang) Has(key string) bool {
	_, ok := catalogs[English][key]
	return ok
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
		"app.title":                   "Hulian console",
		"nav.dashboard":               "Dashboard",
		"nav.participants":            "Participants",
		"nav.transfers":               "Transfers",
		"nav.settlement":              "Settlement",
		"nav.audit":                   "Audit",
		"nav.risk":                    "Risk",
		"nav.users":                   "Users",
		"nav.signout":                 "Sign out",
		"nav.signedin":                "Signed in as",
		"nav.language":                "Language",
		"lang.zh":                     "中文",
		"lang.en":                     "English",
		"role.operator-admin":         "operator administrator",
		"role.operator-viewer":        "operator viewer",
		"role.regulator":              "regulator",
		"role.participant-admin":      "participant administrator",
		"role.participant-viewer":     "participant viewer",
		"login.title":                 "Sign in",
		"login.intro":                 "Sign in with your password and the 6-digit code of your authenticator app.",
		"login.username":              "Username",
		"login.password":              "Password",
		"login.totp":                  "Authentication code",
		"login.submit":                "Sign in",
		"login.failed":                "Sign-in failed: the username, password or code is wrong, or the account is locked for a while.",
		"login.busy":                  "Too many sign-ins at the moment; try again in a few seconds.",
		"logout.title":                "Sign out",
		"logout.confirm":              "Sign out of the console?",
		"logout.submit":               "Sign out",
		"logout.done":                 "You are signed out.",
		"dashboard.title":             "Dashboard",
		"error.title":                 "Not done",
		"error.forbidden":             "You may not do this.",
		"error.readonly":              "Your role reads and changes nothing; nothing was changed.",
		"error.csrf":                  "The form has expired or did not come from this console; nothing was changed. Reload the page and try again.",
		"error.session":               "Your session has ended; sign in again.",
		"error.notfound":              "There is no such page.",
		"error.internal":              "Something went wrong on the switch; nothing may have been done. Try again later.",
		"error.back":                  "Back to the dashboard",
		"any":                         "Any",
		"yes":                         "yes",
		"no":                          "no",
		"save":                        "Save",
		"search":                      "Search",
		"edit":                        "Edit",
		"delete":                      "Delete",
		"pager":                       "Pages",
		"pager.prev":                  "Previous",
		"pager.next":                  "Next",
		"unit.s":                      "%d s",
		"unit.min":                    "%d min",
		"unit.h":                      "%d h",
		"unit.d":                      "%d d",
		"field.id":                    "ID",
		"field.name":                  "Name",
		"field.kind":                  "Kind",
		"field.status":                "Status",
		"field.state":                 "State",
		"field.currency":              "Currency",
		"field.currencies":            "Currencies",
		"field.participant":           "Participant",
		"field.amount":                "Amount",
		"field.balance":               "Balance",
		"field.reserved":              "Reserved",
		"field.cap":                   "Net debit cap",
		"field.available":             "Available",
		"field.callback":              "Callback URL",
		"field.acceptance":            "Acceptance",
		"field.created":               "Created",
		"status.active":               "active",
		"status.suspended":            "suspended",
		"status.closed":               "closed",
		"state.COMMITTED":             "committed",
		"state.RESERVED":              "reserved",
		"state.HELD":                  "held for review",
		"state.ABORTED":               "aborted",
		"window.OPEN":                 "open",
		"window.CLOSED":               "closed",
		"window.SETTLING":             "settling",
		"window.SETTLED":              "settled",
		"kind.wallet":                 "wallet",
		"kind.bank":                   "bank",
		"kind.fxp":                    "FX provider",
		"kind.scheme":                 "other scheme",
		"acceptance.notify":           "notified",
		"acceptance.confirm":          "asked to confirm",
		"direction.pay":               "pays",
		"direction.receive":           "receives",
		"dashboard.live":              "Live: updated every second.",
		"dashboard.stale":             "Connection lost; reconnecting…",
		"dashboard.ended":             "Your session has ended; sign in again to see the dashboard live.",
		"dashboard.asof":              "As of",
		"dashboard.throughput":        "Throughput",
		"dashboard.rate":              "Payments a second",
		"dashboard.persecond":         "a second",
		"dashboard.decided":           "committed, held, aborted or refused",
		"role.operator":               "operator (API token)",
		"role.participant":            "participant (API key)",
		"dashboard.committed":         "Committed a second",
		"dashboard.total":             "Since start",
		"dashboard.success":           "Success rate",
		"dashboard.refused":           "Refused since start",
		"dashboard.latency":           "Answer time p50",
		"dashboard.window":            "Rates and times over the last 5 seconds, of the payments the switch decided (answer times of POST /v1/transfers).",
		"dashboard.refusals":          "Refusals by reason",
		"dashboard.reason":            "Reason",
		"dashboard.share":             "Share",
		"dashboard.norefusals":        "No refusals in the last seconds.",
		"dashboard.positions":         "Positions against net debit caps",
		"dashboard.positions.of":      "The most used caps, of accounts:",
		"dashboard.liquidity.raised":  "liquidity alerts since start:",
		"dashboard.mine":              "Your positions",
		"dashboard.used":              "Cap used",
		"dashboard.below":             "below threshold",
		"dashboard.nopositions":       "No positions yet.",
		"dashboard.windows":           "Open settlement windows",
		"dashboard.nowindows":         "No open window.",
		"dashboard.age":               "Open for",
		"dashboard.risk":              "Open risk alerts",
		"dashboard.norisk":            "No open risk alert.",
		"dashboard.more":              "More alerts",
		"dashboard.audit":             "Audit log",
		"dashboard.ago":               "ago",
		"dashboard.unavailable":       "Not available at the moment.",
		"audit.checkpoint":            "Signed checkpoint",
		"audit.checkpoint.size":       "Tree size signed",
		"audit.origin":                "Origin",
		"audit.tree":                  "tree size",
		"audit.signed":                "signed",
		"audit.signers":               "Signed by",
		"audit.witnesses":             "Witnesses",
		"audit.witness":               "Witness",
		"audit.cosigned":              "Last co-signed tree size",
		"audit.lag":                   "Behind by (leaves)",
		"audit.nowitnesses":           "No witness is registered.",
		"audit.trail":                 "Console actions",
		"audit.trail.help":            "Every change made from the console, who made it, and the ledger mark (an audit leaf) that records it; newest first.",
		"audit.trail.none":            "No action yet.",
		"audit.when":                  "When",
		"audit.who":                   "User",
		"audit.role":                  "Role",
		"audit.action":                "Action",
		"audit.target":                "On",
		"audit.mark":                  "Ledger mark",
		"participants.search":         "Id or name",
		"participants.found":          "Participants found:",
		"participants.onboard":        "Onboard a participant",
		"participants.onboarded":      "Onboarded",
		"participants.once":           "Give these credentials to the participant now: the switch keeps only their hashes and will not show them again.",
		"participants.apikey":         "API key",
		"participants.callbacksecret": "Callback secret",
		"participants.open":           "Open its page",
		"participant.title":           "Participant",
		"participant.positions":       "Positions",
		"participant.liquidity":       "Liquidity alert",
		"participant.threshold":       "Threshold",
		"participant.threshold.help":  "Alert when the available balance falls below it; 0 turns the alert off.",
		"participant.below":           "Below now",
		"participant.suspend":         "Suspend",
		"participant.resume":          "Resume",
		"participant.limit":           "Net debit cap",
		"participant.transfers":       "Its transfers",
		"fees.title":                  "Fees",
		"fees.set":                    "Set a currency's fees",
		"fees.fixed":                  "Fixed",
		"fees.rate":                   "Rate (%)",
		"fees.min":                    "Minimum",
		"fees.max":                    "Maximum (0: none)",
		"fees.none":                   "No fees are set.",
		"transfers.byid":              "Transfer id",
		"transfers.open":              "Open",
		"transfers.from":              "From",
		"transfers.to":                "To",
		"transfers.utc":               "Times are UTC. The switch lists a participant's transfers oldest first, a page at a time; the end time and the state are applied to each page.",
		"transfers.ask":               "Name a participant to list its transfers, or open a transfer by its id.",
		"transfers.none":              "No transfer on this page matches.",
		"transfers.scanned":           "Transfers read for this page:",
		"transfers.badtime":           "A time is not a date and time (2006-01-02T15:04).",
		"transfer.title":              "Transfer",
		"transfer.payer":              "Payer",
		"transfer.payee":              "Payee",
		"transfer.fee":                "Fee",
		"transfer.fx":                 "Payee received",
		"transfer.refunded":           "Refunded",
		"transfer.note":               "Note",
		"transfer.callbacks":          "Callbacks",
		"transfer.callbacks.note":     "The switch's API does not list a transfer's callback deliveries; shown here is how the payee is called back. Each participant's callback queue is in the metrics (hulian_callback_queue_depth).",
		"transfer.callbacks.payee":    "Payee",
		"transfer.callbacks.nourl":    "no callback URL: it reads its transfers",
		"proof.title":                 "Audit inclusion proof",
		"proof.intro":                 "Your browser fetches the proof that this payment is a leaf of the audit log, recomputes the leaf's hash and the Merkle path to the root (RFC 6962), and checks the checkpoint's Ed25519 signature with the switch's verifier key — with WebCrypto, trusting nothing the switch says it computed.",
		"proof.verify":                "Verify in this browser",
		"proof.notyet":                "Not verified yet.",
		"proof.working":               "Verifying…",
		"proof.ok":                    "Verified: the payment is in the tree the switch signed.",
		"proof.bad":                   "Not verified:",
		"proof.nocrypto":              "This browser offers no WebCrypto with Ed25519 here (it needs HTTPS, or localhost).",
		"proof.fetchfailed":           "The proof could not be fetched:",
		"proof.verifier":              "Switch's verifier key",
		"proof.leaf":                  "Leaf index / tree size",
		"proof.leafhash":              "Leaf hash",
		"proof.root":                  "Root hash",
		"proof.checkpoint":            "Checkpoint",
		"proof.other":                 "Verify another proof",
		"proof.other.help":            "Paste a proof as GET /v1/audit/transfers/{id}/proof answers it.",
		"settlement.window":           "Window",
		"settlement.window.title":     "Settlement window",
		"settlement.opened":           "Opened",
		"settlement.closed":           "Closed",
		"settlement.next":             "Next window",
		"settlement.close":            "Close window",
		"settlement.close.help":       "Closing the window fixes its net positions and opens the next one.",
		"settlement.none":             "No window.",
		"settlement.report":           "Report",
		"settlement.transfers":        "Transfers",
		"settlement.volume":           "volume",
		"settlement.hubfees":          "hub fees",
		"settlement.csv":              "Download CSV",
		"settlement.sent":             "Sent",
		"settlement.received":         "Received",
		"settlement.net":              "Net",
		"settlement.instruction":      "Instruction",
		"settlement.confirmed":        "confirmed",
		"settlement.confirm":          "Record as settled",
		"risk.rules":                  "Rules",
		"risk.norules":                "No rule.",
		"risk.rule":                   "Rule",
		"risk.rule.put":               "Add or change a rule",
		"risk.expression":             "Expression",
		"risk.action":                 "Action",
		"risk.mode":                   "Mode",
		"risk.reason":                 "Reason code",
		"risk.description":            "Description",
		"risk.alerts":                 "Alerts",
		"risk.alert":                  "Alert",
		"risk.open":                   "Open",
		"risk.closed":                 "Closed",
		"risk.score":                  "Score",
		"risk.held":                   "Held",
		"risk.decision":               "Decision",
		"risk.note":                   "note",
		"risk.release":                "Release",
		"risk.reject":                 "Reject",
		"risk.noalerts":               "No alert.",
		"users.create":                "Create a user",
		"users.created":               "Created",
		"users.once":                  "Scan this code with the user's authenticator app now, or give the user the key below: it is shown only this once.",
		"users.qr":                    "The user's TOTP key as a QR code",
		"users.locked":                "Locked until",
		"users.participant.help":      "For the participant roles only: the participant the user acts for.",
		"error.refused":               "The switch refused this; nothing was changed.",
		"error.absent":                "Not found, or not yours to see.",
		"error.form":                  "The form could not be read; nothing was changed.",
		"error.unrecorded":            "It was done, but the console could not record who did it: tell the operator, and do not do it again.",
		"done.participant-onboard":    "The participant is onboarded.",
		"done.participant-suspend":    "The participant is suspended.",
		"done.participant-resume":     "The participant is resumed.",
		"done.participant-limit":      "The net debit cap is set.",
		"done.participant-liquidity":  "The liquidity threshold is set.",
		"done.participant-callback":   "The callback URL is set.",
		"done.fees-set":               "The fees are set.",
		"done.window-close":           "The window is closed; the next one is open.",
		"done.settlement-confirm":     "The instruction is recorded as settled.",
		"done.risk-rule-put":          "The rule is saved.",
		"done.risk-rule-delete":       "The rule is deleted.",
		"done.risk-decision":          "The alert is decided.",
		"done.console-user-create":    "The user is created.",
		"done.console-user-delete":    "The user is deleted; its sessions ended.",
	},
	Chinese: {
		"app.title":                   "互联 控制台",
		"nav.dashboard":               "总览",
		"nav.participants":            "参与机构",
		"nav.transfers":               "交易",
		"nav.settlement":              "清算",
		"nav.audit":                   "审计",
		"nav.risk":                    "风控",
		"nav.users":                   "用户",
		"nav.signout":                 "退出登录",
		"nav.signedin":                "当前用户",
		"nav.language":                "语言",
		"lang.zh":                     "中文",
		"lang.en":                     "English",
		"role.operator-admin":         "运营管理员",
		"role.operator-viewer":        "运营只读用户",
		"role.regulator":              "监管机构",
		"role.participant-admin":      "机构管理员",
		"role.participant-viewer":     "机构只读用户",
		"login.title":                 "登录",
		"login.intro":                 "请输入密码及身份验证器应用显示的 6 位动态验证码。",
		"login.username":              "用户名",
		"login.password":              "密码",
		"login.totp":                  "动态验证码",
		"login.submit":                "登录",
		"login.failed":                "登录失败：用户名、密码或验证码有误，或账户暂时被锁定。",
		"login.busy":                  "登录请求过多，请稍后几秒再试。",
		"logout.title":                "退出登录",
		"logout.confirm":              "确定退出控制台？",
		"logout.submit":               "退出登录",
		"logout.done":                 "您已退出登录。",
		"dashboard.title":             "总览",
		"error.title":                 "未执行",
		"error.forbidden":             "您无权执行此操作。",
		"error.readonly":              "您的角色仅可查看，未做任何更改。",
		"error.csrf":                  "表单已过期或并非来自本控制台，未做任何更改。请刷新页面后重试。",
		"error.session":               "会话已结束，请重新登录。",
		"error.notfound":              "页面不存在。",
		"error.internal":              "交换系统出现错误，操作可能未完成。请稍后重试。",
		"error.back":                  "返回总览",
		"any":                         "全部",
		"yes":                         "是",
		"no":                          "否",
		"save":                        "保存",
		"search":                      "查询",
		"edit":                        "编辑",
		"delete":                      "删除",
		"pager":                       "分页",
		"pager.prev":                  "上一页",
		"pager.next":                  "下一页",
		"unit.s":                      "%d 秒",
		"unit.min":                    "%d 分钟",
		"unit.h":                      "%d 小时",
		"unit.d":                      "%d 天",
		"field.id":                    "标识",
		"field.name":                  "名称",
		"field.kind":                  "类型",
		"field.status":                "状态",
		"field.state":                 "状态",
		"field.currency":              "币种",
		"field.currencies":            "币种",
		"field.participant":           "参与机构",
		"field.amount":                "金额",
		"field.balance":               "余额",
		"field.reserved":              "预留",
		"field.cap":                   "净借记限额",
		"field.available":             "可用",
		"field.callback":              "回调地址",
		"field.acceptance":            "收款确认方式",
		"field.created":               "创建时间",
		"status.active":               "正常",
		"status.suspended":            "已暂停",
		"status.closed":               "已关闭",
		"state.COMMITTED":             "已完成",
		"state.RESERVED":              "已预留",
		"state.HELD":                  "待审核",
		"state.ABORTED":               "已终止",
		"window.OPEN":                 "开放中",
		"window.CLOSED":               "已关闭",
		"window.SETTLING":             "结算中",
		"window.SETTLED":              "已结算",
		"kind.wallet":                 "钱包",
		"kind.bank":                   "银行",
		"kind.fxp":                    "外汇服务商",
		"kind.scheme":                 "其他清算网络",
		"acceptance.notify":           "通知",
		"acceptance.confirm":          "需确认",
		"direction.pay":               "付款",
		"direction.receive":           "收款",
		"dashboard.live":              "实时：每秒更新。",
		"dashboard.stale":             "连接中断，正在重新连接……",
		"dashboard.ended":             "会话已结束，请重新登录以查看实时总览。",
		"dashboard.asof":              "数据时间",
		"dashboard.throughput":        "吞吐量",
		"dashboard.rate":              "每秒交易数",
		"dashboard.persecond":         "每秒",
		"dashboard.decided":           "含完成、待审核、终止及拒绝",
		"role.operator":               "运营方（API 令牌）",
		"role.participant":            "参与机构（API 密钥）",
		"dashboard.committed":         "每秒完成",
		"dashboard.total":             "启动以来",
		"dashboard.success":           "成功率",
		"dashboard.refused":           "启动以来拒绝",
		"dashboard.latency":           "响应时间 p50",
		"dashboard.window":            "速率与时间取最近 5 秒内交换系统处理的交易（响应时间取 POST /v1/transfers）。",
		"dashboard.refusals":          "按原因统计的拒绝",
		"dashboard.reason":            "原因",
		"dashboard.share":             "占比",
		"dashboard.norefusals":        "最近几秒没有拒绝。",
		"dashboard.positions":         "头寸与净借记限额",
		"dashboard.positions.of":      "限额使用最高的账户，共排序账户数：",
		"dashboard.liquidity.raised":  "启动以来流动性告警：",
		"dashboard.mine":              "本机构头寸",
		"dashboard.used":              "限额使用",
		"dashboard.below":             "低于阈值",
		"dashboard.nopositions":       "暂无头寸。",
		"dashboard.windows":           "开放中的清算窗口",
		"dashboard.nowindows":         "没有开放中的窗口。",
		"dashboard.age":               "已开放",
		"dashboard.risk":              "待处理风控告警",
		"dashboard.norisk":            "没有待处理的风控告警。",
		"dashboard.more":              "更多告警",
		"dashboard.audit":             "审计日志",
		"dashboard.ago":               "前",
		"dashboard.unavailable":       "暂时无法获取。",
		"audit.checkpoint":            "已签名检查点",
		"audit.checkpoint.size":       "已签名树大小",
		"audit.origin":                "来源",
		"audit.tree":                  "树大小",
		"audit.signed":                "签名于",
		"audit.signers":               "签名方",
		"audit.witnesses":             "见证方",
		"audit.witness":               "见证方",
		"audit.cosigned":              "最近联署的树大小",
		"audit.lag":                   "落后（叶子数）",
		"audit.nowitnesses":           "尚未登记见证方。",
		"audit.trail":                 "控制台操作记录",
		"audit.trail.help":            "控制台所做的每项更改、操作人，以及记录该操作的账本标记（审计叶子）；最新在前。",
		"audit.trail.none":            "暂无操作记录。",
		"audit.when":                  "时间",
		"audit.who":                   "用户",
		"audit.role":                  "角色",
		"audit.action":                "操作",
		"audit.target":                "对象",
		"audit.mark":                  "账本标记",
		"participants.search":         "标识或名称",
		"participants.found":          "找到参与机构：",
		"participants.onboard":        "接入参与机构",
		"participants.onboarded":      "已接入",
		"participants.once":           "请立即将以下凭据交给该机构：交换系统只保存其哈希值，之后不会再次显示。",
		"participants.apikey":         "API 密钥",
		"participants.callbacksecret": "回调密钥",
		"participants.open":           "打开其页面",
		"participant.title":           "参与机构",
		"participant.positions":       "头寸",
		"participant.liquidity":       "流动性告警",
		"participant.threshold":       "阈值",
		"participant.threshold.help":  "可用余额低于阈值时告警；设为 0 关闭告警。",
		"participant.below":           "当前低于",
		"participant.suspend":         "暂停",
		"participant.resume":          "恢复",
		"participant.limit":           "净借记限额",
		"participant.transfers":       "其交易",
		"fees.title":                  "费用",
		"fees.set":                    "设置币种费用",
		"fees.fixed":                  "固定费用",
		"fees.rate":                   "费率（%）",
		"fees.min":                    "最低",
		"fees.max":                    "最高（0 表示不设）",
		"fees.none":                   "尚未设置费用。",
		"transfers.byid":              "交易标识",
		"transfers.open":              "打开",
		"transfers.from":              "起始",
		"transfers.to":                "截止",
		"transfers.utc":               "时间为 UTC。交换系统按时间先后分页列出机构的交易；截止时间与状态在每页内筛选。",
		"transfers.ask":               "请输入参与机构以列出其交易，或按交易标识打开。",
		"transfers.none":              "本页没有符合条件的交易。",
		"transfers.scanned":           "本页读取的交易数：",
		"transfers.badtime":           "时间格式有误（应为 2006-01-02T15:04）。",
		"transfer.title":              "交易",
		"transfer.payer":              "付款方",
		"transfer.payee":              "收款方",
		"transfer.fee":                "费用",
		"transfer.fx":                 "收款方收到",
		"transfer.refunded":           "已退款",
		"transfer.note":               "附言",
		"transfer.callbacks":          "回调",
		"transfer.callbacks.note":     "交换系统的 API 不提供单笔交易的回调投递记录；此处显示收款方的回调方式。各机构的回调队列见指标 hulian_callback_queue_depth。",
		"transfer.callbacks.payee":    "收款方",
		"transfer.callbacks.nourl":    "无回调地址：由其自行查询交易",
		"proof.title":                 "审计包含证明",
		"proof.intro":                 "浏览器获取该交易在审计日志中的包含证明，重新计算叶子哈希及至根的默克尔路径（RFC 6962），并用交换系统的验证公钥以 WebCrypto 校验检查点的 Ed25519 签名——不依赖交换系统自称的计算结果。",
		"proof.verify":                "在本浏览器中验证",
		"proof.notyet":                "尚未验证。",
		"proof.working":               "正在验证……",
		"proof.ok":                    "验证通过：该交易包含在交换系统签名的树中。",
		"proof.bad":                   "验证未通过：",
		"proof.nocrypto":              "此浏览器在此环境下不提供支持 Ed25519 的 WebCrypto（需 HTTPS 或本机访问）。",
		"proof.fetchfailed":           "无法获取证明：",
		"proof.verifier":              "交换系统验证公钥",
		"proof.leaf":                  "叶子序号 / 树大小",
		"proof.leafhash":              "叶子哈希",
		"proof.root":                  "根哈希",
		"proof.checkpoint":            "检查点",
		"proof.other":                 "验证其他证明",
		"proof.other.help":            "粘贴 GET /v1/audit/transfers/{id}/proof 返回的证明。",
		"settlement.window":           "窗口",
		"settlement.window.title":     "清算窗口",
		"settlement.opened":           "开放时间",
		"settlement.closed":           "关闭时间",
		"settlement.next":             "下一窗口",
		"settlement.close":            "关闭窗口",
		"settlement.close.help":       "关闭窗口将确定其净头寸并开放下一窗口。",
		"settlement.none":             "没有窗口。",
		"settlement.report":           "清算报告",
		"settlement.transfers":        "交易笔数",
		"settlement.volume":           "交易额",
		"settlement.hubfees":          "平台费用",
		"settlement.csv":              "下载 CSV",
		"settlement.sent":             "付出",
		"settlement.received":         "收到",
		"settlement.net":              "净额",
		"settlement.instruction":      "结算指令",
		"settlement.confirmed":        "已确认",
		"settlement.confirm":          "登记为已结算",
		"risk.rules":                  "规则",
		"risk.norules":                "没有规则。",
		"risk.rule":                   "规则",
		"risk.rule.put":               "新增或修改规则",
		"risk.expression":             "表达式",
		"risk.action":                 "动作",
		"risk.mode":                   "模式",
		"risk.reason":                 "原因代码",
		"risk.description":            "说明",
		"risk.alerts":                 "告警",
		"risk.alert":                  "告警",
		"risk.open":                   "待处理",
		"risk.closed":                 "已关闭",
		"risk.score":                  "评分",
		"risk.held":                   "已拦截",
		"risk.decision":               "处理决定",
		"risk.note":                   "备注",
		"risk.release":                "放行",
		"risk.reject":                 "拒绝",
		"risk.noalerts":               "没有告警。",
		"users.create":                "创建用户",
		"users.created":               "已创建",
		"users.once":                  "请立即用该用户的身份验证器应用扫描此二维码，或将下方密钥交给用户：仅显示这一次。",
		"users.qr":                    "用户的 TOTP 密钥二维码",
		"users.locked":                "锁定至",
		"users.participant.help":      "仅用于机构角色：该用户所代表的参与机构。",
		"error.refused":               "交换系统拒绝了此操作，未做任何更改。",
		"error.absent":                "未找到，或您无权查看。",
		"error.form":                  "无法读取表单，未做任何更改。",
		"error.unrecorded":            "操作已执行，但控制台未能记录操作人：请通知运营方，且不要重复操作。",
		"done.participant-onboard":    "参与机构已接入。",
		"done.participant-suspend":    "参与机构已暂停。",
		"done.participant-resume":     "参与机构已恢复。",
		"done.participant-limit":      "净借记限额已设置。",
		"done.participant-liquidity":  "流动性阈值已设置。",
		"done.participant-callback":   "回调地址已设置。",
		"done.fees-set":               "费用已设置。",
		"done.window-close":           "窗口已关闭，下一窗口已开放。",
		"done.settlement-confirm":     "结算指令已登记为已结算。",
		"done.risk-rule-put":          "规则已保存。",
		"done.risk-rule-delete":       "规则已删除。",
		"done.risk-decision":          "告警已处理。",
		"done.console-user-create":    "用户已创建。",
		"done.console-user-delete":    "用户已删除，其会话已结束。",
	},
}
