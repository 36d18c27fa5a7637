// Package mandate owns the terms of a recurring-payment mandate and the
// rules that decide them: the lifecycle of a mandate (State.Apply), its
// terms and their validation (Terms.Validate), the calendar periods of
// its frequency (Period, Terms.PeriodAt), whether one execution is
// allowed (State.Executable, then Allowed), its optional CEL condition
// (CompileCondition) and, for a scheduled mandate, when the switch
// executes it (Due, Next, NoticeAt, RetryAt, ExecutionKey).
//
// Everything here is pure: no storage, no HTTP, no clock. Time is an
// argument, and so is the scheme's time zone (DefaultZone,
// "Asia/Shanghai", loaded by the caller); the same input always gives
// the same answer.
//
// # Lifecycle
//
// A biller (the payee participant) proposes a mandate: PENDING. The
// payer's participant approves it (ACTIVE) or rejects it (REJECTED); it
// may pause an ACTIVE mandate (PAUSED) and resume it. Either side may
// revoke a live mandate (REVOKED): the payer because it is its money, the
// biller because stopping collection only ever favours the payer (UPI
// AutoPay and SEPA Direct Debit let the creditor cancel too). The biller
// may also withdraw its own PENDING proposal by revoking it; the payer
// answers a PENDING one by rejecting it, not by revoking. The switch
// expires a mandate whose validity ended (EXPIRED), completes a "once"
// mandate when its one execution commits (COMPLETED), and may revoke any
// live mandate (the operator's action, a participant removed). REJECTED,
// REVOKED, EXPIRED and COMPLETED are final. Repeating an action (pausing
// a PAUSED mandate) is ErrState: a service that wants retried requests to
// be idempotent recognises the repeat before calling Apply.
//
// # Terms
//
// Validity is the half-open interval [ValidFrom, ValidUntil). Amounts are
// minor units of the mandate's currency. Frequencies and their schedules:
//
//	once     one execution in total; a schedule has Day 0 and is due at ValidFrom
//	daily    one per calendar day; a schedule has Day 0 (every day)
//	weekly   one per ISO week (Monday 00:00); schedule Day 1–7 = Monday–Sunday
//	monthly  one per calendar month; schedule Day 1–31, a day past the
//	         month's end meaning its last day (31 → 28 or 29 February)
//	yearly   one per calendar year; schedule Month 1–12 and Day 1–31, at
//	         most the month's longest length (29 February is allowed and
//	         means 28 February in a common year)
//	adhoc    any number of executions; no schedule (there is no period)
//
// A scheduled execution is due at DueHour (09:00) of its day in the
// scheme's time zone: late enough that a payer's wallet has been topped
// up overnight and its user is awake to read the notice, early enough
// that retries and support fit in the same day. A "once" mandate's
// scheduled execution is due at ValidFrom itself, which the biller
// chose. A due time outside the validity is skipped (a monthly mandate
// valid from the 10th with Day 5 is first due the next month).
//
// # Executions
//
// An execution is checked in this order, and the first failure is the
// answer: the mandate is ACTIVE (State.Executable, ErrNotActive); the
// amount is positive (ErrInvalid); the time is within the validity
// (ErrNotActive); amount ≤ MaxAmount, then at most one execution per
// period or, for "once", in total (ErrLimit); the condition holds
// (ErrCondition). The condition is CEL over
//
//	amount                int  this execution, minor units
//	executionsThisPeriod  int  executions before this one in its period
//	totalThisPeriod       int  their total, minor units
//	day                   int  day of month 1–31 in the scheme's zone
//	month                 int  month 1–12 in the scheme's zone
//
// so a biller can write "amount <= 5000 || day == 1" or, for adhoc,
// "totalThisPeriod + amount <= 100000". For a one-per-period frequency
// executionsThisPeriod and totalThisPeriod are 0 by the time the
// condition runs; they matter for adhoc, whose period is the whole
// validity. A condition that fails to evaluate (an overflow, a division
// by zero) fails the execution.
//
// # Scheduled executions and restarts
//
// ExecutionKey derives, from the mandate id and the period's start, the
// id of the transfer of that period's scheduled execution. Every attempt
// of a period, including retries and a re-run after a restart, uses the
// same id, so the ledger's idempotency refuses a second transfer for the
// period; a refused attempt (funds short) leaves no transfer behind, so
// the retry may reuse the id. Retries (RetryAt) are a calendar day apart
// at the same local time and never leave the due's period or the
// validity: a due on a period's last day (every daily one, weekly Day 7,
// monthly Day 31) has no retries.
package mandate
