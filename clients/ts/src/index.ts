/**
 * A TypeScript client of the Hulian switch's API v1.
 *
 * `schema.ts` is generated from the switch's OpenAPI document by
 * openapi-typescript (run `make clients` in the repository; never edit it):
 * `paths` types every operation, `components["schemas"]` every body.
 * Calls go through openapi-fetch, typed by `paths`: the path, its
 * parameters, the body and the answer are checked by the compiler.
 *
 * This file adds what the generator does not: `createHulianClient`, which
 * sends the Bearer credential with every request, and `unwrap`, which
 * returns the body of a 2xx answer and throws any other as a
 * `HulianProblem` naming the problem type.
 *
 * Amounts are decimal strings in the currency's major unit (`"100.00"`),
 * as on the wire: never turn them into a JavaScript number, whose binary
 * fractions cannot hold 0.10 exactly; use integer minor units (a bigint)
 * or a decimal library.
 *
 * ```ts
 * const hulian = createHulianClient({ baseUrl: "https://switch.example", token: apiKey });
 * const transfer = unwrap(await hulian.GET("/v1/transfers/{id}", { params: { path: { id: "pay-0001" } } }));
 * console.log(transfer.state, transfer.fee);
 * ```
 */
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, paths };
export * from "./signature.js";

type Schemas = components["schemas"];
/** A decimal amount in the currency's major unit, e.g. `"100.00"`. */
export type Amount = Schemas["Amount"];
/** The kind of an alias: `MSISDN`, `EMAIL`, `NATIONAL_ID`, `RANDOM`, `WALLET`, `MERCHANT`. */
export type AliasType = Schemas["AliasType"];
/** A payment. */
export type Transfer = Schemas["Transfer"];
/** A payment to make: `POST /v1/transfers`. */
export type NewTransfer = Schemas["NewTransfer"];
/** A signed offer of a fee: `POST /v1/quotes`. */
export type Quote = Schemas["Quote"];
/** What a payer may know of an alias: `GET /v1/parties/{type}/{value}`. */
export type PartyLookup = Schemas["PartyLookup"];
/** An RFC 9457 problem document: every refusal. */
export type Problem = Schemas["Problem"];
/** The callback that tells a payee of committed transfers. */
export type TransfersCommitted = Schemas["TransfersCommitted"];
/** The callback that asks a payee in confirm mode to decide. */
export type TransferConfirm = Schemas["TransferConfirm"];

/** A client of the switch: `GET`, `POST`, `PUT`, `PATCH`, `DELETE` typed by `paths`. */
export type HulianClient = Client<paths>;

/** Options of createHulianClient. */
export interface HulianClientOptions {
  /** The switch's scheme, host and port, e.g. `"https://switch.example"`. */
  baseUrl: string;
  /** A participant's API key (`<participant id>.<secret>`), or the operator's or regulator's token. */
  token: string;
  /** Replaces `globalThis.fetch`, e.g. to set a timeout or a proxy. */
  fetch?: (input: Request) => Promise<Response>;
}

/** Returns a client of the switch that authenticates every request with `token`. */
export function createHulianClient(options: HulianClientOptions): HulianClient {
  if (!options.token) {
    throw new Error("hulian: empty token");
  }
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    headers: { Authorization: `Bearer ${options.token}` },
    fetch: options.fetch,
  });
}

/** Prefixes every problem type the switch answers; the rest is the case. */
export const PROBLEM_TYPE_BASE = "https://hulian.dev/problems/";

/**
 * A refusal of the switch: the problem document of an answer that is not
 * 2xx. Branch on `case` (e.g. `"insufficient-funds"`), which is stable;
 * `title` and `detail` are for people.
 */
export class HulianProblem extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The problem type, a URI: PROBLEM_TYPE_BASE + the case; `""` if the answer was not a problem document. */
  readonly type: string;
  readonly title: string;
  readonly detail?: string;
  /** With `risk-declined`: the operator's rule that declined the payment. */
  readonly rule?: string;
  /** With `risk-declined`: the rule's reason code, for the payer's user. */
  readonly reason?: string;
  /** The `Hulian-Request-Id` the switch logged the request under. */
  readonly requestId?: string;

  constructor(status: number, problem: Partial<Problem>, requestId?: string) {
    const type = problem.type ?? "";
    const kase = type.slice(type.lastIndexOf("/") + 1);
    const title = problem.title ?? "";
    super(`hulian: ${status}${kase ? " " + kase : ""}${problem.detail ? ": " + problem.detail : title ? ": " + title : ""}`);
    this.name = "HulianProblem";
    this.status = status;
    this.type = type;
    this.title = title;
    this.detail = problem.detail;
    this.rule = problem.rule;
    this.reason = problem.reason;
    this.requestId = requestId;
  }

  /** The problem's case, e.g. `"insufficient-funds"`: the last segment of its type. */
  get case(): string {
    return this.type.slice(this.type.lastIndexOf("/") + 1);
  }
}

/** How much of a body that is not a problem document goes into `detail`. */
const BODY_MAX = 512;

/**
 * Returns the body of a 2xx answer of an openapi-fetch call, and throws a
 * HulianProblem for any other.
 */
export function unwrap<D>(result: { data?: D; error?: unknown; response: Response }): D {
  if (result.response.ok) {
    return result.data as D;
  }
  const requestId = result.response.headers.get("Hulian-Request-Id") ?? undefined;
  const e = result.error;
  if (typeof e === "object" && e !== null && typeof (e as Problem).type === "string") {
    throw new HulianProblem(result.response.status, e as Problem, requestId);
  }
  const text = typeof e === "string" ? e : e === undefined ? "" : JSON.stringify(e);
  throw new HulianProblem(
    result.response.status,
    { title: result.response.statusText, detail: text.slice(0, BODY_MAX).trim() || undefined },
    requestId,
  );
}
