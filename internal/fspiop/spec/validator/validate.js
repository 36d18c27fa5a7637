'use strict';
// Checks FSPIOP messages against the FSPIOP OpenAPI definitions that the
// npm package @mojaloop/api-snippets ships (docs/fspiop-rest-v1.{0,1}-
// openapi3-snippets.yaml), for Hulian's Go tests (package
// internal/fspiop/spec starts one of these per test binary).
//
// Line protocol: one JSON object per line on stdin, one answer per line on
// stdout, in input order. The first line written is
//   {"ready":true,"package":"@mojaloop/api-snippets@<version>","versions":["1.0","1.1"]}
// Input:
//   {"id":<any>,"version":"1.1","method":"PUT","path":"/parties/MSISDN/123",
//    "status":<int, only for a synchronous answer>,"headers":{<name>:<value>}|null,"body":<JSON>|null}
// path is the request path as sent (percent-encoded, query allowed). Without
// "status" the line is a request or callback: its path parameters, headers
// and body are checked against the operation. With "status" it is the
// synchronous answer to that request: the status must be one the operation
// declares, and the body must match that response's schema (or be absent
// when the response declares none); headers, when given, are the answer's.
// headers null skips the header checks.
// Output: {"id":<same>,"ok":bool,"op":"PUT /parties/{Type}/{ID}"|null,"errors":["<where>: <what>", ...]}
//
// Checks come from the definition's schemas, except those marked
// "(derived)", which the definition states only in prose or leaves to the
// body schemas: {Type}/{ID}/{SubId}/{ID} path values (typed only as strings)
// against PartyIdType/PartyIdentifier/PartySubIdOrType/CorrelationId;
// Content-Type and Accept against the versioned media types of the API
// definition document (as Mojaloop's header validation parses them); Date as
// an RFC 7231 IMF-fixdate; FSPIOP-URI and FSPIOP-HTTP-Method when
// FSPIOP-Signature is sent.
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const yaml = require('js-yaml');
const Ajv = require('ajv');

const PKG = '@mojaloop/api-snippets';
const pkgDir = path.dirname(require.resolve(PKG + '/package.json'));
const pkgVersion = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
const FILES = {
  '1.0': 'docs/fspiop-rest-v1.0-openapi3-snippets.yaml',
  '1.1': 'docs/fspiop-rest-v1.1-openapi3-snippets.yaml',
};
// The v1.0 bundle carries a fake operation that only pulls unused schemas
// into the document; it is no part of the API.
const FAKE_PATHS = new Set(['/interface']);
const MAX_ERRORS = 20;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function deref(doc, obj) {
  while (obj && obj.$ref) {
    if (!obj.$ref.startsWith('#/')) throw new Error('external $ref ' + obj.$ref);
    obj = obj.$ref.slice(2).split('/').reduce((o, k) => o && o[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return obj;
}

// load compiles one version's definition into an operation table.
function load(version) {
  const doc = yaml.load(fs.readFileSync(path.join(pkgDir, FILES[version]), 'utf8'));
  // strict: false lets OpenAPI's own keywords (example, title…) through;
  // unicodeRegExp (the default) compiles the ECMA patterns with the u flag,
  // which \p{L} and \p{gc=Mark} in the name patterns need.
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'fspiop', components: doc.components });
  const named = (name) => ajv.getSchema('fspiop#/components/schemas/' + name);
  const ops = [];
  for (const [tmpl, item] of Object.entries(doc.paths)) {
    if (FAKE_PATHS.has(tmpl)) continue;
    const segs = tmpl.split('/').slice(1);
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      // Operation parameters override the path's of the same name and place.
      const params = new Map();
      for (const p of [...(item.parameters || []), ...(op.parameters || [])]) {
        const d = deref(doc, p);
        params.set(d.in + ':' + d.name.toLowerCase(), { ...d, v: d.schema ? ajv.compile(d.schema) : null });
      }
      const rb = deref(doc, op.requestBody);
      const rbSchema = rb && rb.content && rb.content['application/json'] && rb.content['application/json'].schema;
      const responses = {};
      for (const [st, r0] of Object.entries(op.responses || {})) {
        const r = deref(doc, r0);
        const s = r.content && r.content['application/json'] && r.content['application/json'].schema;
        const headers = Object.entries(r.headers || {}).map(([n, h]) => ({ name: n, ...deref(doc, h) }));
        responses[st] = { schema: s ? compileRef(ajv, s) : null, schemaName: s && s.$ref ? s.$ref.split('/').pop() : null, headers };
      }
      ops.push({
        tmpl, segs, method: m.toUpperCase(), params,
        body: rbSchema ? compileRef(ajv, rbSchema) : null,
        bodyName: rbSchema && rbSchema.$ref ? rbSchema.$ref.split('/').pop() : null,
        bodyRequired: !!(rb && rb.required),
        responses,
      });
    }
  }
  return { version, doc, ops, named };
}

function compileRef(ajv, schema) {
  if (schema.$ref) {
    const v = ajv.getSchema('fspiop' + schema.$ref);
    if (!v) throw new Error('unresolved ' + schema.$ref);
    return v;
  }
  return ajv.compile(schema);
}

const defs = {};
for (const v of Object.keys(FILES)) defs[v] = load(v);

// match finds the operation for method and path; literal segments win over
// {param} ones, so /parties/{Type}/{ID}/error beats /parties/{Type}/{ID}/{SubId}.
function match(def, method, rawPath) {
  const segs = rawPath.split('?')[0].split('/').slice(1);
  let best = null;
  let bestScore = -1;
  const methods = new Set();
  for (const o of def.ops) {
    if (o.segs.length !== segs.length) continue;
    let score = 0;
    let ok = true;
    const values = {};
    for (let i = 0; i < segs.length && ok; i++) {
      const t = o.segs[i];
      if (t.startsWith('{')) {
        values[t.slice(1, -1)] = segs[i];
      } else if (t === segs[i]) {
        score++;
      } else {
        ok = false;
      }
    }
    if (!ok) continue;
    methods.add(o.method);
    if (o.method === method && score > bestScore) {
      best = { op: o, values };
      bestScore = score;
    }
  }
  return { best, methods: [...methods].sort() };
}

function fmtErrors(where, errs) {
  return (errs || []).map((e) => {
    let msg = e.message;
    // Name the schema a pattern comes from; quote the pattern only when it
    // is short enough to read (DateTime's is 300 characters).
    const m = /\/components\/schemas\/([^/]+)\/pattern$/.exec(e.schemaPath);
    if (e.keyword === 'pattern') msg = `must match the ${m ? m[1] + ' ' : ''}pattern` + (e.params.pattern.length <= 80 ? ' ' + e.params.pattern : '');
    if (e.keyword === 'enum') msg += ': ' + e.params.allowedValues.join(', ');
    if (e.keyword === 'additionalProperties') msg += ': ' + e.params.additionalProperty;
    return `${where}${e.instancePath}: ${msg}`;
  });
}

const IMF = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// derivedPath checks path values the definition types only as strings
// against the body schemas they stand for.
function derivedPath(def, op, values) {
  const out = [];
  const hasType = op.segs.includes('{Type}');
  const schemaOf = { Type: 'PartyIdType', SubId: 'PartySubIdOrType', ID: hasType ? 'PartyIdentifier' : 'CorrelationId' };
  for (const [name, value] of Object.entries(values)) {
    const v = schemaOf[name] && def.named(schemaOf[name]);
    if (v && !v(value)) out.push(...fmtErrors(`path {${name}} (derived: ${schemaOf[name]})`, v.errors));
  }
  return out;
}

function checkHeaders(def, op, method, rawPath, version, headers) {
  const out = [];
  const h = {};
  for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = String(v);
  for (const p of op.params.values()) {
    if (p.in !== 'header') continue;
    const name = p.name.toLowerCase();
    if (!(name in h)) {
      if (p.required) out.push(`header ${p.name}: required`);
      continue;
    }
    let val = h[name];
    if (p.schema && p.schema.type === 'integer') val = /^\d+$/.test(val) ? Number(val) : val;
    if (p.v && !p.v(val)) out.push(...fmtErrors(`header ${p.name}`, p.v.errors));
  }
  const resource = rawPath.split('?')[0].split('/')[1] || '';
  const mt = `application/vnd\\.interoperability\\.${esc(resource)}\\+json`;
  if ('content-type' in h) {
    const m = new RegExp(`^${mt}\\s{0,1};\\s{0,1}version=(\\d+\\.\\d+)$`).exec(h['content-type']);
    if (!m) {
      out.push(`header Content-Type (derived): ${JSON.stringify(h['content-type'])} is not application/vnd.interoperability.${resource}+json;version=<major>.<minor>`);
    } else if (m[1] !== version) {
      out.push(`header Content-Type (derived): version ${m[1]}, but checked against the ${version} definition`);
    }
  }
  if ('accept' in h && op.params.has('header:accept')) {
    const x = `${mt}(\\s{0,1};\\s{0,1}version=\\d+(\\.\\d+)?)?`;
    if (!new RegExp(`^${x}(,${x})*$`).test(h.accept)) {
      out.push(`header Accept (derived): ${JSON.stringify(h.accept)} is not a list of application/vnd.interoperability.${resource}+json[;version=<major>[.<minor>]]`);
    }
  }
  if ('date' in h && !(IMF.test(h.date) && new Date(h.date).toUTCString() === h.date)) {
    out.push(`header Date (derived): ${JSON.stringify(h.date)} is not an RFC 7231 IMF-fixdate such as "Mon, 07 Dec 2026 01:00:00 GMT"`);
  }
  if ('fspiop-source' in h && h['fspiop-source'] === '') out.push('header FSPIOP-Source (derived): empty');
  if ('fspiop-signature' in h) {
    for (const n of ['FSPIOP-URI', 'FSPIOP-HTTP-Method']) {
      if (!(n.toLowerCase() in h)) out.push(`header ${n} (derived): required with FSPIOP-Signature`);
    }
    if ('fspiop-http-method' in h && h['fspiop-http-method'] !== method) {
      out.push(`header FSPIOP-HTTP-Method (derived): ${JSON.stringify(h['fspiop-http-method'])}, but the method is ${method}`);
    }
    if ('fspiop-uri' in h && h['fspiop-uri'] !== rawPath && h['fspiop-uri'] !== rawPath.split('?')[0]) {
      out.push(`header FSPIOP-URI (derived): ${JSON.stringify(h['fspiop-uri'])}, but the path is ${rawPath}`);
    }
  }
  return out;
}

function check(r) {
  const def = defs[r.version];
  if (!def) return { ok: false, op: null, errors: [`no definition for FSPIOP version ${JSON.stringify(r.version)} (have ${Object.keys(defs).join(', ')})`] };
  const method = String(r.method || '').toUpperCase();
  const rawPath = String(r.path || '');
  if (!rawPath.startsWith('/')) return { ok: false, op: null, errors: [`path ${JSON.stringify(rawPath)} is not rooted`] };
  const { best, methods } = match(def, method, rawPath);
  if (!best) {
    const why = methods.length ? ` (the path takes ${methods.join(', ')})` : '';
    return { ok: false, op: null, errors: [`no operation ${method} ${rawPath.split('?')[0]} in FSPIOP ${r.version}${why}`] };
  }
  const op = best.op;
  const opName = `${op.method} ${op.tmpl}`;
  const errors = [];
  const body = r.body === undefined ? null : r.body;
  if (r.status !== undefined && r.status !== null) {
    const st = String(r.status);
    const resp = op.responses[st] || op.responses.default;
    if (!resp) {
      errors.push(`status ${st}: not an answer ${opName} declares (${Object.keys(op.responses).join(', ')})`);
    } else {
      if (resp.schema) {
        if (body === null) errors.push(`body: missing (status ${st} answers with ${resp.schemaName || 'a JSON body'})`);
        else if (!resp.schema(body)) errors.push(...fmtErrors('body', resp.schema.errors));
      } else if (body !== null) {
        errors.push(`body: status ${st} declares no body`);
      }
      if (r.headers) {
        const h = new Set(Object.keys(r.headers).map((k) => k.toLowerCase()));
        for (const d of resp.headers) if (d.required && !h.has(d.name.toLowerCase())) errors.push(`header ${d.name}: required on status ${st}`);
      }
    }
  } else {
    const values = {};
    for (const [name, raw] of Object.entries(best.values)) {
      try {
        values[name] = decodeURIComponent(raw);
      } catch (e) {
        errors.push(`path {${name}}: bad percent-encoding ${JSON.stringify(raw)}`);
        continue;
      }
      const p = op.params.get('path:' + name.toLowerCase());
      if (!p) errors.push(`path {${name}}: not declared by ${opName}`);
      else if (p.v && !p.v(values[name])) errors.push(...fmtErrors(`path {${name}}`, p.v.errors));
    }
    errors.push(...derivedPath(def, op, values));
    if (r.headers) errors.push(...checkHeaders(def, op, method, rawPath, r.version, r.headers));
    if (op.body) {
      if (body === null) {
        if (op.bodyRequired) errors.push(`body: required (${op.bodyName})`);
      } else if (!op.body(body)) {
        errors.push(...fmtErrors('body', op.body.errors));
      }
    } else if (body !== null) {
      errors.push(`body: ${opName} takes no body`);
    }
  }
  if (errors.length > MAX_ERRORS) errors.splice(MAX_ERRORS, errors.length - MAX_ERRORS, `… ${errors.length - MAX_ERRORS} more`);
  return { ok: errors.length === 0, op: opName, errors };
}

process.stdout.write(JSON.stringify({ ready: true, package: `${PKG}@${pkgVersion}`, versions: Object.keys(defs) }) + '\n');
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let r;
  try {
    r = JSON.parse(line);
  } catch (e) {
    process.stdout.write(JSON.stringify({ id: null, ok: false, op: null, errors: ['input: ' + e.message] }) + '\n');
    return;
  }
  let out;
  try {
    out = check(r);
  } catch (e) {
    out = { ok: false, op: null, errors: ['validator: ' + (e && e.stack ? e.stack : e)] };
  }
  process.stdout.write(JSON.stringify({ id: r.id === undefined ? null : r.id, ...out }) + '\n');
});
rl.on('close', () => process.exit(0));
