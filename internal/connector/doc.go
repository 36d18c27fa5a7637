// Package connector is what a small participant runs beside its core
// system to join Hulian: one process that speaks the whole protocol to
// the switch on one side, and a deliberately simple synchronous JSON API
// to the participant's backend on the other (docs/connector.md).
//
// It owns the participant's side of every rule in package sim's doc, so
// that the backend does not have to implement them:
//
//   - Towards the switch. At start it points the participant's
//     callbackUrl at itself. It verifies every callback's
//     Hulian-Signature over the exact, bounded body and refuses the rest
//     (401). A committed transfer is booked once by its id, in a SQLite
//     transaction that also queues it for the backend, and only then is
//     the callback acknowledged: a redelivery changes nothing, a crash
//     before the commit makes the switch deliver it again. A confirm
//     request is answered, signed, within ConfirmTimeout: the backend's
//     decision, or a rejection when the backend does not answer in time.
//     The decision is recorded first, so that the same question always
//     gets the same answer.
//
//   - Outbound payments. POST /payments stores the payment under an id
//     of the connector's own before anything is sent, then looks the
//     payee up, quotes and sends the transfer, retrying what may succeed
//     later (no answer, 429, 5xx) with the same ids; the switch's
//     idempotency by id makes a retry after a lost answer safe. The
//     backend may retry its own request with the same id or
//     Idempotency-Key and gets the same payment. A payment without a
//     final answer when the request's wait ends stays PENDING, and a
//     background loop finishes it, after a restart too.
//
//   - Inbound delivery. Every committed incoming transfer is POSTed to
//     the backend's /incoming from a durable outbox, one at a time, in
//     the order the switch committed them, until the backend answers
//     2xx: at least once, so the backend de-duplicates by transferId.
//     With BackendSecrets each call is signed as the switch signs its
//     callbacks (wire.SignAll over the exact body), so that the backend
//     can refuse a forged credit with the same verifier; a call it
//     refuses stays in the outbox and is tried again.
//
//   - Requests to pay and mandates (requests.go, mandates.go,
//     notices.go). The switch's payment-request.* and mandate.*
//     callbacks are verified, booked once by their identity (the
//     request's id and the event; a mandate's id with its state and time,
//     its due time, or the execution's id) in one transaction with the
//     connector's record of the request or mandate, and queued in the
//     same outbox as the incoming transfers, as notices in the
//     connector's own vocabulary (request, request-paid, …,
//     mandate-executed). The backend sends requests (POST /requests,
//     stored before they are sent, sent again with the same id), pays
//     those to its users (POST /requests/{id}/accept: a payment in the
//     payments table whose transfer the switch makes on acceptance,
//     driven and finished like any other) or declines them, and
//     approves, rejects, pauses, resumes or revokes mandates, which the
//     switch makes idempotent. Disputes, claims and liquidity alerts are
//     acknowledged and logged only.
//
// GET /metrics serves Prometheus metrics from a registry of the
// connector's own (metrics.go), behind the API token like /status: the
// payments' outcomes and latency, the callbacks by result, the confirm
// answers, the notices, the API calls on requests and mandates, the
// outbox, and the calls to the backend and the switch.
//
// Everything that grows is bounded: request and callback bodies, the
// outbox (when it is full, notifications are answered 503 and the switch
// keeps them), payments driven at once, backend API requests at once.
//
// The package is participant-side: it reaches the switch over HTTP only,
// with the reference participant's client (sim.Client), its JSON is
// package wire's, and it links no storage of the switch (a house-rules
// test checks it); its own record is one SQLite file.
package connector
