// Verifies a transfer's audit inclusion proof in the browser, trusting
// nothing the switch says it computed: the proof (GET
// /v1/audit/transfers/{id}/proof as the console serves it to its user)
// gives the leaf, its index, the tree size, the Merkle path and the
// signed checkpoint note; the page gives the switch's note verifier key.
//
// It recomputes, with WebCrypto:
//   - the leaf hash, SHA-256(0x00 || leaf) (RFC 6962, tlog.RecordHash);
//   - the root from the leaf hash and the path, as tlog.CheckRecord does
//     (runRecordProof: split at the largest power of two below the
//     range, the path's last hash being the sibling of the top split;
//     interior nodes SHA-256(0x01 || left || right));
//   - the checkpoint note's signature by the verifier key (note format
//     of golang.org/x/mod/sumdb/note: the text, a blank line, then lines
//     "— <name> <base64(key hash[4] || Ed25519 signature)>"; the key
//     "<name>+<hash, 8 hex>+<base64(0x01 || public key[32])>", its hash
//     the first 4 bytes of SHA-256(name || "\n" || 0x01 || key));
//   - and that the checkpoint ("<origin>\n<size>\n<base64 root>\n") is
//     of the verifier's name, of the proof's tree size, with that root.
//
// window.hulianProof.verify(proof, verifierKey) resolves to
// {ok, reason, leafHash, root, index, treeSize, note}; a Go test runs it
// against golang.org/x/mod/sumdb/tlog on real proofs.
"use strict";
(function () {
  const enc = new TextEncoder();

  function b64(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out;
  }

  function toB64(bytes) {
    let s = "";
    for (const b of bytes) {
      s += String.fromCharCode(b);
    }
    return btoa(s);
  }

  function concat(...parts) {
    let n = 0;
    for (const p of parts) {
      n += p.length;
    }
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) {
      return false;
    }
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) {
        return false;
      }
    }
    return true;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const recordHash = (leaf) => sha256(concat(new Uint8Array([0]), leaf));
  const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

  // maxpow2 is the largest power of two smaller than n (n > 1), as
  // tlog's maxpow2. Sizes are BigInts: a tree may outgrow 2^53.
  function maxpow2(n) {
    let k = 1n;
    while (k * 2n < n) {
      k *= 2n;
    }
    return k;
  }

  // runRecordProof is tlog's: the root of the tree [lo, hi) that holds
  // leaf n with hash leafHash, given the path p.
  async function runRecordProof(p, lo, hi, n, leafHash) {
    if (!(lo <= n && n < hi)) {
      throw new Error("the leaf index is not in the tree");
    }
    if (lo + 1n === hi) {
      if (p.length !== 0) {
        throw new Error("the path has hashes to spare");
      }
      return leafHash;
    }
    if (p.length === 0) {
      throw new Error("the path is too short");
    }
    const k = maxpow2(hi - lo);
    const rest = p.slice(0, p.length - 1);
    const last = p[p.length - 1];
    if (n < lo + k) {
      return nodeHash(await runRecordProof(rest, lo, lo + k, n, leafHash), last);
    }
    return nodeHash(last, await runRecordProof(rest, lo + k, hi, n, leafHash));
  }

  function validName(name) {
    return name !== "" && !/[\s+]/u.test(name);
  }

  // parseVerifier reads a note verifier key and checks its hash.
  async function parseVerifier(vkey) {
    // name+hash+key, cut at the first two "+" as note.NewVerifier does:
    // the base64 key may hold "+" too.
    const s = vkey.trim();
    const i = s.indexOf("+");
    const j = i < 0 ? -1 : s.indexOf("+", i + 1);
    const parts = [s.slice(0, i), s.slice(i + 1, j), s.slice(j + 1)];
    if (i < 0 || j < 0 || !validName(parts[0]) || !/^[0-9a-f]{8}$/.test(parts[1])) {
      throw new Error("the verifier key is malformed");
    }
    const key = b64(parts[2]);
    if (key.length !== 33 || key[0] !== 1) {
      throw new Error("the verifier key is not an Ed25519 key");
    }
    const h = await sha256(concat(enc.encode(parts[0] + "\n"), key));
    const hash = ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
    if (hash !== parseInt(parts[1], 16)) {
      throw new Error("the verifier key's hash does not match its key");
    }
    const pub = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    return { name: parts[0], hash, pub };
  }

  // openNote checks that the note carries a valid signature by the
  // verifier, and returns its text.
  async function openNote(note, v) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0 || !note.endsWith("\n")) {
      throw new Error("the checkpoint is not a signed note");
    }
    const text = note.slice(0, split + 1);
    const sigs = note.slice(split + 2).split("\n").slice(0, -1);
    let signed = false;
    for (const line of sigs) {
      if (!line.startsWith("\u2014 ")) {
        throw new Error("the checkpoint's signature lines are malformed");
      }
      const [name, sig64] = line.slice(2).split(" ");
      const sig = b64(sig64 || "");
      if (!validName(name) || sig.length < 5) {
        throw new Error("the checkpoint's signature lines are malformed");
      }
      const hash = ((sig[0] << 24) | (sig[1] << 16) | (sig[2] << 8) | sig[3]) >>> 0;
      if (name !== v.name || hash !== v.hash) {
        continue; // a witness's co-signature: not the switch's
      }
      if (!(await crypto.subtle.verify({ name: "Ed25519" }, v.pub, sig.slice(4), enc.encode(text)))) {
        throw new Error("the checkpoint's signature by " + v.name + " is not valid");
      }
      signed = true;
    }
    if (!signed) {
      throw new Error("the checkpoint is not signed by " + v.name);
    }
    return text;
  }

  // verify checks a proof against the verifier key.
  async function verify(proof, vkey) {
    const out = { ok: false, reason: "", leafHash: "", root: "", index: "", treeSize: "", note: "" };
    try {
      if (!window.crypto || !crypto.subtle) {
        out.reason = "nocrypto";
        return out;
      }
      out.note = String(proof.checkpoint || "");
      out.index = String(proof.index);
      out.treeSize = String(proof.treeSize);
      const leafHash = await recordHash(b64(String(proof.leaf)));
      out.leafHash = toB64(leafHash);
      const path = (proof.proof || []).map((h) => {
        const b = b64(h);
        if (b.length !== 32) {
          throw new Error("a path hash is not 32 bytes");
        }
        return b;
      });
      const n = BigInt(proof.index);
      const t = BigInt(proof.treeSize);
      const root = await runRecordProof(path, 0n, t, n, leafHash);
      out.root = toB64(root);
      const v = await parseVerifier(vkey);
      const text = await openNote(out.note, v);
      const lines = text.split("\n");
      if (lines.length !== 4 || lines[3] !== "") {
        throw new Error("the checkpoint's body is not 3 lines");
      }
      if (lines[0] !== v.name) {
        throw new Error("the checkpoint's origin is not the verifier's name");
      }
      if (lines[1] !== t.toString()) {
        throw new Error("the checkpoint is of tree size " + lines[1] + ", the proof of " + t);
      }
      if (!equal(b64(lines[2]), root)) {
        throw new Error("the path does not lead to the checkpoint's root");
      }
      out.ok = true;
    } catch (e) {
      out.reason = e && e.message ? e.message : String(e);
    }
    return out;
  }

  window.hulianProof = { verify };

  const sec = document.getElementById("proof");
  if (!sec) {
    return;
  }
  const status = document.getElementById("proof-status");
  const set = (id, text) => {
    const el = document.getElementById(id);
    if (el) {
      el.textContent = text || "–";
    }
  };
  function show(r) {
    set("leaf-index", r.index && r.index + " / " + r.treeSize);
    set("leaf-hash", r.leafHash);
    set("root-hash", r.root);
    set("checkpoint-note", r.note);
    status.dataset.verified = r.ok ? "true" : "false";
    if (r.ok) {
      status.textContent = sec.dataset.ok;
    } else if (r.reason === "nocrypto") {
      status.textContent = sec.dataset.nocrypto;
    } else {
      status.textContent = sec.dataset.bad + " " + r.reason;
    }
  }
  async function run(get) {
    status.dataset.verified = "";
    status.textContent = sec.dataset.working;
    let proof;
    try {
      proof = await get();
    } catch (e) {
      status.dataset.verified = "false";
      status.textContent = sec.dataset.fetchfailed + " " + (e && e.message ? e.message : e);
      return;
    }
    // The proof as fetched or pasted, for whoever checks this page.
    window.hulianProof.last = proof;
    show(await verify(proof, sec.dataset.verifier));
  }
  document.getElementById("verify").addEventListener("click", () =>
    run(async () => {
      const resp = await fetch(sec.dataset.proof, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const body = await resp.json();
      if (!resp.ok) {
        throw new Error(resp.status + " " + (body.title || "") + (body.detail ? ": " + body.detail : ""));
      }
      return body;
    }));
  document.getElementById("verify-other").addEventListener("click", () =>
    run(async () => JSON.parse(document.getElementById("proof-json").value)));
})();
