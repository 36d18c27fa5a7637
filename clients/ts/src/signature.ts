/**
 * Verifying (and making) the `Hulian-Signature` of a callback of the
 * switch, of a connector's `POST {backend}/incoming`, or of a signed
 * answer: `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]`, each `v1` the
 * HMAC under one secret of the ASCII `t`, a `.`, and the exact body bytes.
 *
 * It accepts exactly what the switch's own verification accepts (the Go
 * client's `VerifySignature` is the same function, and the repository's
 * tests run both over the same headers).
 *
 * ```ts
 * import { verifySignature, SignatureError, SIGNATURE_HEADER } from "@hulian/client";
 *
 * const body = await readRawBody(req); // a Buffer: verify before parsing, never re-serialise
 * try {
 *   verifySignature(req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined, body, [secret, previousSecret]);
 * } catch (e) {
 *   if (e instanceof SignatureError) { res.writeHead(401).end(); return; } // e.kind: "missing", "stale" …
 *   throw e;
 * }
 * const callback = JSON.parse(body.toString("utf8"));
 * ```
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The header that carries the signatures. */
export const SIGNATURE_HEADER = "Hulian-Signature";

/** The switch's own bound, in seconds, on how far a signature's time may be from now, either way. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** At most this many `v1` entries: more is malformed, so a forged header cannot make the receiver compute HMACs without end. */
export const SIGNATURES_MAX = 8;

/**
 * Why a signature was refused. Each means: drop the request (answer 401) and change nothing.
 * - `missing`: no header at all;
 * - `malformed`: no or two timestamps, a timestamp that is not a number, no `v1`, or more than SIGNATURES_MAX;
 * - `stale`: the timestamp is more than the tolerance away from now, before or after (a replay, or a clock to fix);
 * - `mismatch`: no `v1` is the HMAC of this body under any of the secrets (another secret, or a changed body).
 */
export type SignatureErrorKind = "missing" | "malformed" | "stale" | "mismatch";

/** A refused signature: branch on `kind`. */
export class SignatureError extends Error {
  readonly kind: SignatureErrorKind;

  constructor(kind: SignatureErrorKind, message: string) {
    super(`hulian: ${message}`);
    this.name = "SignatureError";
    this.kind = kind;
  }
}

/** Options of verifySignature. */
export interface VerifySignatureOptions {
  /** The time to check against; the clock by default. */
  now?: Date;
  /** How far, in seconds, the signature's time may be from now, either way; SIGNATURE_TOLERANCE_SECONDS by default. */
  toleranceSeconds?: number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function bytesOf(body: string | Uint8Array): Buffer {
  return typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function mac(secret: string, ts: string, body: Buffer): Buffer {
  return createHmac("sha256", secret).update(ts, "latin1").update(".").update(body).digest();
}

/**
 * Returns the `Hulian-Signature` value for body sent at `at`, with one `v1`
 * per secret in the order given (at most SIGNATURES_MAX): what the switch
 * sends, for tests and for answers a participant signs.
 */
export function createSignature(secrets: string[], at: Date, body: string | Uint8Array): string {
  const ts = String(Math.floor(at.getTime() / 1000));
  const b = bytesOf(body);
  return "t=" + ts + secrets.slice(0, SIGNATURES_MAX).map((s) => ",v1=" + mac(s, ts, b).toString("hex")).join("");
}

/**
 * Checks a `Hulian-Signature` header against the exact body received (the
 * raw bytes, or their UTF-8 string; never a re-serialised JSON): its time
 * must be within the tolerance of now, before or after, and one of its
 * `v1` entries the HMAC of body under one of `secrets` (two during a
 * rotation; empty ones are skipped, so an unset secret verifies nothing).
 * Returns true, or throws a SignatureError. Every entry is compared with
 * every secret's HMAC in constant time.
 */
export function verifySignature(
  header: string | null | undefined,
  body: string | Uint8Array,
  secrets: string[],
  opts: VerifySignatureOptions = {},
): true {
  const tolerance = opts.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance)) {
    throw new RangeError(`hulian: toleranceSeconds ${tolerance} is not a finite number`);
  }
  if (header === null || header === undefined || header === "") {
    throw new SignatureError("missing", `no ${SIGNATURE_HEADER} header`);
  }
  // As Go's strings.Split and strings.Cut: every part, the key up to the first "=".
  let ts = "";
  const sigs: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? "" : part.slice(eq + 1);
    if (k === "t") {
      if (ts !== "") {
        throw new SignatureError("malformed", `malformed ${SIGNATURE_HEADER}: two timestamps`);
      }
      ts = v;
    } else if (k === "v1") {
      if (sigs.length === SIGNATURES_MAX) {
        throw new SignatureError("malformed", `malformed ${SIGNATURE_HEADER}: more than ${SIGNATURES_MAX} v1 entries`);
      }
      sigs.push(v);
    }
  }
  // As Go's strconv.ParseInt(ts, 10, 64): an optional sign, decimal digits, 64 bits.
  const sec = /^[+-]?[0-9]+$/.test(ts) ? BigInt(ts) : undefined;
  if (sec === undefined || sec < INT64_MIN || sec > INT64_MAX) {
    throw new SignatureError("malformed", `malformed ${SIGNATURE_HEADER}: timestamp ${JSON.stringify(ts)} is not a number of seconds`);
  }
  if (sigs.length === 0) {
    throw new SignatureError("malformed", `malformed ${SIGNATURE_HEADER}: no v1 entry`);
  }
  // In milliseconds, exactly: a Date holds no finer time.
  const nowMs = BigInt((opts.now ?? new Date()).getTime());
  const d = nowMs - sec * 1000n;
  const tol = BigInt(Math.round(tolerance * 1000));
  if (d > tol || d < -tol) {
    throw new SignatureError("stale", `${SIGNATURE_HEADER} signed at ${sec}, beyond ${tolerance}s from now`);
  }
  const got = sigs.map((s) => (/^(?:[0-9a-fA-F]{2})*$/.test(s) ? Buffer.from(s, "hex") : undefined));
  const b = bytesOf(body);
  let ok = false;
  for (const secret of secrets) {
    if (secret === "") {
      continue;
    }
    const want = mac(secret, ts, b);
    for (const g of got) {
      if (g !== undefined && g.length === want.length && timingSafeEqual(g, want)) {
        ok = true;
      }
    }
  }
  if (!ok) {
    throw new SignatureError("mismatch", `${SIGNATURE_HEADER} does not match the body`);
  }
  return true;
}
