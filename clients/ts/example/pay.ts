/**
 * Makes one payment with Hulian's TypeScript client, as a participant's
 * core system would: looks the payee's alias up, gets a quote (the fee),
 * pays with the quote, reads the transfer back, and prints its final state
 * and fee.
 *
 *   npm run build
 *   HULIAN_URL=http://127.0.0.1:8080 HULIAN_API_KEY=wallet-a.… \
 *   HULIAN_PAYEE_VALUE=+8613800138000 node dist/example/pay.js
 *
 * Optional: HULIAN_PAYEE_TYPE (MSISDN), HULIAN_AMOUNT (10.00),
 * HULIAN_CURRENCY (CNY), HULIAN_TRANSFER_ID (a fresh one). Sending the same
 * HULIAN_TRANSFER_ID again does not pay twice: the switch answers with the
 * transfer it made the first time. It exits 1 if the payment was refused
 * or did not commit.
 */
import { randomBytes } from "node:crypto";

import { type AliasType, createHulianClient, HulianProblem, unwrap } from "../src/index.js";

async function pay(): Promise<void> {
  const env = process.env;
  const baseUrl = env.HULIAN_URL;
  const token = env.HULIAN_API_KEY;
  const payeeValue = env.HULIAN_PAYEE_VALUE;
  if (!baseUrl || !token || !payeeValue) {
    throw new Error("set HULIAN_URL, HULIAN_API_KEY and HULIAN_PAYEE_VALUE");
  }
  const payeeType = (env.HULIAN_PAYEE_TYPE || "MSISDN") as AliasType;
  const amount = env.HULIAN_AMOUNT || "10.00"; // a decimal string, never a number
  const currency = env.HULIAN_CURRENCY || "CNY";
  const id = env.HULIAN_TRANSFER_ID || `ts-example-${randomBytes(8).toString("hex")}`;

  const hulian = createHulianClient({ baseUrl, token });

  // 1. Confirmation of payee: whose alias is it? (a masked name)
  const party = unwrap(
    await hulian.GET("/v1/parties/{type}/{value}", {
      params: { path: { type: payeeType, value: payeeValue } },
    }),
  );
  console.log(`payee:    ${party.type} ${party.value} is ${party.displayName} at ${party.participant} (${party.currency})`);

  // 2. The fee, fixed until the quote expires.
  const payee = { type: payeeType, value: payeeValue };
  const quote = unwrap(await hulian.POST("/v1/quotes", { body: { payee, amount, currency } }));
  console.log(`quote:    ${quote.amount} ${quote.currency}, fee ${quote.fee} ${quote.currency}, until ${quote.expiresAt}`);

  // 3. Pay. The id makes the request idempotent: after a timeout or a
  // 5xx, send it again with the same id.
  const paid = unwrap(await hulian.POST("/v1/transfers", { body: { id, payee, amount, currency, quoteId: quote.id } }));
  console.log(`transfer: ${paid.id} ${paid.state}`);

  // 4. Read it back, as a wallet does to learn the outcome of a payment
  // whose answer it lost.
  const t = unwrap(await hulian.GET("/v1/transfers/{id}", { params: { path: { id } } }));
  console.log(
    `final:    ${t.id} ${t.state} amount ${t.amount} ${t.currency} fee ${t.fee} ${t.currency} payee ${t.payee.participant}`,
  );
  if (t.state !== "COMMITTED") {
    throw new Error(`transfer ${t.id} is ${t.state}${t.reason ? ": " + t.reason : ""}`);
  }
}

pay().catch((err: unknown) => {
  if (err instanceof HulianProblem) {
    console.error(`example: ${err.message} (problem ${err.case}, request ${err.requestId ?? "?"})`);
  } else {
    console.error(`example: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.exit(1);
});
