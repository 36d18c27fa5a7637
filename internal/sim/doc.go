// Package sim is the reference implementation of a participant's side of
// Hulian — a wallet or a bank connected to the switch — and a driver that
// runs simulated participants against a switch and checks the books.
// `hulian demo` and the end-to-end tests use it; a wallet developer can
// read it as a worked example of how to connect.
//
// # What a participant does
//
// A participant holds its users' money in its own books (Books) and a
// settlement position at the switch. It talks to the switch over API v1
// with its API key (Client), and takes the switch's callbacks on an HTTPS
// endpoint of its own (Participant.ServeHTTP). The rules it follows, each
// shown in the code:
//
//   - Onboarding. The operator creates the participant with its callback
//     URL; the answer holds the API key and the callback secret, once.
//     The participant registers its users' aliases (phone numbers,
//     e-mails, random keys), in batches of up to 1,000.
//
//   - Paying (Participant.Pay). Optionally look the payee's alias up and
//     show the masked name (confirmation of payee), and get a quote (the
//     fee, fixed until it expires). Hold the user's money in the books
//     before sending, so that concurrent payments cannot spend it twice.
//     Send the transfer with an id of the participant's own making: the id
//     makes it idempotent, so a request whose answer was lost (a timeout, a
//     5xx, a 429) is retried with the same id and the switch answers with
//     the stored transfer rather than paying twice. Book the final answer:
//     COMMITTED turns the hold into a debit; a refusal (a problem document,
//     whose type says why: insufficient-funds, unknown-party, …) or
//     ABORTED releases it. Without a final answer the money stays held
//     until Participant.Reconcile asks the switch (GET /v1/transfers/{id}).
//
//   - Being paid. The switch POSTs transfers.committed callbacks, at least
//     once and in order, with one or more transfers. Verify the
//     Hulian-Signature header against the exact body (wire.Verify) and
//     answer 401 to anything unsigned, since anyone can reach the URL.
//     Credit each transfer once by its id (Books.Credit): a redelivery
//     must change nothing. Answer 2xx only once the credits are booked.
//
//   - Confirm mode. A participant that takes transfers in confirm mode is
//     asked first (transfer.confirm): it answers {"decision":"accept"} or
//     {"decision":"reject","reason":"…"} within the switch's confirm
//     timeout, typically rejecting transfers to closed accounts. Accepting
//     credits nothing yet: the transfers.committed notification that
//     follows does.
//
//   - Merchants and QR codes (Participant.PayQR). A merchant is a user
//     registered under a MERCHANT alias with its category code, city
//     and country, which its codes print. Its participant makes codes
//     (POST /v1/qr): a static one, whose amount the payer types, or a
//     dynamic one for one payment of a set amount. The payer's wallet
//     decodes a scanned code at the switch (POST /v1/qr:decode) to show
//     the merchant and amount, refuses a dynamic code already paid, and
//     then pays as above, to payee {"type":"QR","value":<payload>}. The
//     merchant's participant is credited by its ordinary callback (payee
//     type MERCHANT, account the merchant's).
//
//   - Requests to pay (RequestPayment, NextBill, PayBill, DeclineBill).
//     A participant asks, for one of its users, the participant of an
//     alias to pay an amount: a bill. It remembers which user asked,
//     since the payment will name the request (payee type ACCOUNT,
//     account the request id), not a user. The payer's participant is
//     told by a payment-request.created callback; the callback only
//     queues the bill for its user, and answers. Paying it is paying:
//     hold the money, accept with a transfer id of the participant's own
//     (retried with it when the answer is lost), read the transfer and
//     book it. A user who does not want it, or cannot pay, declines it.
//
//   - Refunds (Participant.Refund). A payee pays back part of a payment
//     it received (POST /v1/transfers/{id}/refunds), without a fee: the
//     user that payment credited is debited like any payer, and the
//     original payer's participant is credited by its callback (payee
//     type REFUND, account the paying user as the payment named it).
//
//   - Mandates (mandates.go). A biller proposes a mandate for one of its
//     users to a payer alias (ProposeMandate), remembering the user, since
//     each pull names the mandate (payee type ACCOUNT, account the
//     mandate's id). The payer's participant is told (mandate.proposed),
//     asks its user, and approves (ApproveMandate) only if the user's
//     balance covers the maxAmount, which it earmarks in the books
//     (Books.Earmark) until the mandate ends. A pull (ExecuteMandate) is
//     a transfer from the payer's participant that it did not send: it
//     learns of it from mandate.executed, reads the transfer, and debits
//     the user once by the transfer's id, from the earmark, which it then
//     tops up (Books.Debit, Books.Replenish); Reconcile books any pull no
//     callback brought. A pull the earmark no longer covers is booked all
//     the same, as an overdraft to recover from the user.
//
//   - Disputes (mandates.go). A payer's participant disputes a payment its
//     user made (OpenDispute). The payee's participant is told
//     (dispute.opened) and decides (DecideDispute): it accepts only if the
//     user the payment credited still has the money, which it earmarks;
//     the switch pays the held money back, as a transfer from the payee's
//     participant it did not send, which it books as a debit of that user.
//     The payer's participant is credited by its ordinary callback (payee
//     type DISPUTE, account the paying user).
//
//   - Cross-border payments (crossborder.go, Participant.PayFX). A user
//     pays a payee whose alias is held in another currency: the wallet
//     asks for an FX quote (amountType SEND: what the user sends;
//     RECEIVE: what the payee gets), shows both amounts, the rate and
//     the fees, holds the source amount and the FX provider's fee, and
//     sends the transfer with the quote, a purpose code (FAMI, SUPP, …)
//     and the paying user as payerAccount. A quote pays once; a refusal
//     (quote-used, quote-expired, fx-provider-insufficient-funds) moved
//     nothing. The payee's participant credits fx.targetAmount in
//     fx.targetCurrency, never amount, which is the payer's. An FX
//     provider (kind fxp) keeps books per currency and learns of the
//     payments it converted from its listing (BookExchanges): in the
//     source currency it received the amount and its fee, in the target
//     currency the switch paid the payee from its account.
//
//   - News. The other callbacks of requests to pay, mandates and disputes
//     (payment-request.*, mandate.*, dispute.*) are verified like the
//     others and acknowledged with a 2xx.
//
//   - Reconciling. At the end of the day the participant compares its
//     books with the switch: its position (GET
//     /v1/participants/{id}/accounts) must equal deposits − withdrawals −
//     sent − fees + received (FX fees paid and earned included), and the
//     committed transfers it sent (or the switch made from it unasked)
//     and received (GET /v1/transfers) must be exactly those in its
//     books.
//
// # The scenario
//
// Scenario creates two e-wallets (one in notify mode, one in confirm
// mode), a small under-funded wallet and a bank with a net debit cap that
// passes the scheme fee on to its customers; prefunds them; registers a
// few thousand users; drives a mix of payments, lookups and deliberate
// refusals from many goroutines, with a few percent of QR payments at the
// bank's merchants, bills between users of different participants,
// partial refunds, and a few mandates (proposed by the bank's customers
// to wallet users, pulled by them; a scheduled one in runs of 20 s or
// more) and disputes (all decided before the run ends, so that nothing
// stays held); and, unless ScenarioConfig.NoCrossBorder, an FX provider
// publishing a CNY → HKD rate sheet and a wallet in Hong Kong whose users
// the others pay across the border (scenario_crossborder.go). Settle
// settles each currency's window on its own; Check compares every
// participant's books, in each currency it holds, with the switch and
// verifies that the ledger sums to zero per currency.
//
// # Persons
//
// A person (person.go, Scenario.OpenPerson) is one user of a simulated
// participant who uses its app in person: the demo wallet's user
// (package sim/wallet, served by `hulian demo`). The traffic leaves the
// person alone — never pays from or to its account, never answers its
// bills, which the callback keeps apart — and what the person does goes
// through the participant's ordinary paths (Pay, PayBill, DeclineBill),
// so that Check holds it to the switch like the rest; Check waits for a
// person's payment in flight and holds new ones while it compares.
//
// Money is int64 minor units (money.Amount) throughout; floats appear
// only in statistics (rates, latencies).
package sim
