#!/usr/bin/env node
// Node http2 client for the h2gate integration tests.  Prints one JSON
// object on stdout; exits 2 on an internal error (timeout, exception).
//
//   node h2client.js get URL [--ca FILE] [--authority HOST]
//        {status, headers, bytes, sha256, alpn}
//   node h2client.js parallel BASEURL N [--ca FILE]
//        N parallel GET BASEURL/size/<1000+i*997> on ONE session; each body is
//        checked against the pattern: {ok, bad, errors:[...], statuses:{}}
//   node h2client.js trailers BASEURL [--ca FILE]
//        GET /trailers: {status, bytes, sha256, trailers}
//        + POST /echo-headers with request trailers: {echo}
//   node h2client.js connect URL HOST:PORT [--send TEXT]
//        classic CONNECT (RFC 9113 8.5); on 2xx writes TEXT (\r\n escapes
//        expanded) into the tunnel, half-closes, reads until the end:
//        {status, received (utf8, <= 64 KiB), bytes, sha256, error}
//   node h2client.js websocket URL [--ca FILE]
//        RFC 8441 extended CONNECT (:protocol websocket) to URL's path, then
//        WebSocket frames over the stream: reads the greeting, sends a text
//        message and a 70000-byte binary message, checks the echoes, closes:
//        {status, enableConnectProtocol, greeting, text_echo, binary_ok, close_code}
//   node h2client.js early BASEURL PATH N BYTES [--ca FILE]
//        N sequential POSTs of BYTES ('a') to PATH on ONE session, each until
//        its stream has closed; then POST /sha256 of BYTES on the same session:
//        {results:[{status, bytes, rstCode}], after:{status, text}}
//   node h2client.js seq BASEURL PATH... [--ca FILE]
//        sequential GETs on ONE session: {results:[{path,status,backend,bytes,sha256}]}
'use strict';
const http2 = require('http2');
const fs = require('fs');
const crypto = require('crypto');

const args = process.argv.slice(2);
const mode = args.shift();
function opt(name) {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}
const caFile = opt('--ca');
const authority = opt('--authority');
const sendText = opt('--send');

const PATTERN = Buffer.from('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-\n');
function patternSha(n) {
  const h = crypto.createHash('sha256');
  const block = Buffer.alloc(65536);
  for (let i = 0; i < block.length; i++) block[i] = PATTERN[i % 64];
  while (n > 0) {
    const k = Math.min(n, block.length);
    h.update(block.subarray(0, k));
    n -= k;
  }
  return h.digest('hex');
}

function connect(url) {
  const o = { settings: { enablePush: false } };
  if (caFile) o.ca = fs.readFileSync(caFile);
  if (authority) o.servername = authority.split(':')[0];
  return http2.connect(url, o);
}

function request(session, headers, body, trailers) {
  return new Promise((resolve, reject) => {
    const opts = {};
    if (trailers) opts.waitForTrailers = true;
    if (!body && !trailers) opts.endStream = true;
    const req = session.request(headers, opts);
    const h = crypto.createHash('sha256');
    let bytes = 0, resHeaders = null, resTrailers = null;
    const chunks = [];
    req.on('response', (hd) => { resHeaders = hd; });
    req.on('trailers', (t) => { resTrailers = t; });
    req.on('data', (d) => { h.update(d); bytes += d.length; if (chunks.length < 64) chunks.push(d); });
    req.on('end', () => resolve({
      status: resHeaders && resHeaders[':status'],
      headers: resHeaders, trailers: resTrailers, bytes, sha256: h.digest('hex'),
      text: Buffer.concat(chunks).toString('utf8', 0, 65536),
    }));
    req.on('error', reject);
    if (trailers) req.on('wantTrailers', () => req.sendTrailers(trailers));
    if (body) req.end(body);
    else if (trailers) req.end();
  });
}

function done(obj, code) {
  process.stdout.write(JSON.stringify(obj) + '\n');
  process.exit(code || 0);
}

const timer = setTimeout(() => done({ error: 'timeout' }, 2), 60000);

async function main() {
  if (mode === 'get') {
    const u = new URL(args[0]);
    const s = connect(u.origin);
    s.on('error', (e) => done({ error: String(e) }, 2));
    const hd = { ':method': 'GET', ':path': u.pathname + u.search };
    if (authority) hd[':authority'] = authority;
    const r = await request(s, hd);
    const alpn = s.alpnProtocol;
    s.close();
    delete r.text;
    r.alpn = alpn;
    done(r);
  } else if (mode === 'parallel') {
    const base = new URL(args[0]);
    const n = parseInt(args[1] || '100', 10);
    const s = connect(base.origin);
    s.on('error', (e) => done({ error: String(e) }, 2));
    const jobs = [];
    for (let i = 0; i < n; i++) {
      const size = 1000 + i * 997;
      jobs.push(request(s, { ':method': 'GET', ':path': '/size/' + size })
        .then((r) => ({ i, size, r }), (e) => ({ i, size, e: String(e) })));
    }
    const results = await Promise.all(jobs);
    let ok = 0, bad = 0;
    const errors = [], statuses = {};
    for (const { i, size, r, e } of results) {
      if (e) { bad++; errors.push(`#${i}: ${e}`); continue; }
      statuses[r.status] = (statuses[r.status] || 0) + 1;
      if (r.status === 200 && r.bytes === size && r.sha256 === patternSha(size)) ok++;
      else { bad++; errors.push(`#${i}: status=${r.status} bytes=${r.bytes}/${size}`); }
    }
    s.close();
    done({ ok, bad, errors: errors.slice(0, 10), statuses });
  } else if (mode === 'trailers') {
    const base = new URL(args[0]);
    const s = connect(base.origin);
    s.on('error', (e) => done({ error: String(e) }, 2));
    const r = await request(s, { ':method': 'GET', ':path': '/trailers', 'te': 'trailers' });
    const body = Buffer.from('request body with trailers\n');
    const e = await request(s, { ':method': 'POST', ':path': '/echo-headers', 'te': 'trailers',
      'content-type': 'text/plain' }, body, { 'x-req-trailer': 'abc123', 'x-req-two': 'two' });
    s.close();
    let echo = null;
    try { echo = JSON.parse(e.text); } catch (err) { echo = { parse_error: String(err), text: e.text }; }
    done({ status: r.status, bytes: r.bytes, sha256: r.sha256, trailers: r.trailers,
      echo_status: e.status, echo, sent_sha256: crypto.createHash('sha256').update(body).digest('hex') });
  } else if (mode === 'connect') {
    const u = new URL(args[0]);
    const s = connect(u.origin);
    s.on('error', (e) => done({ error: String(e) }, 2));
    const req = s.request({ ':method': 'CONNECT', ':authority': args[1] }, { endStream: false });
    const h = crypto.createHash('sha256');
    let status = null, bytes = 0, error = null;
    const chunks = [];
    req.on('response', (hd) => {
      status = hd[':status'];
      if (status >= 200 && status < 300 && sendText !== undefined) {
        req.end(Buffer.from(sendText.replace(/\\r/g, '\r').replace(/\\n/g, '\n')));
      } else {
        req.end();
      }
    });
    req.on('data', (d) => { h.update(d); bytes += d.length; if (bytes <= 65536) chunks.push(d); });
    req.on('error', (e) => { error = String(e); });
    req.on('close', () => {
      s.close();
      done({ status, received: Buffer.concat(chunks).toString('utf8'), bytes, sha256: h.digest('hex'),
        error, rstCode: req.rstCode });
    });
  } else if (mode === 'websocket') {
    const u = new URL(args[0]);
    const s = connect(u.origin);
    s.on('error', (e) => done({ error: String(e) }, 2));
    await new Promise((resolve) => s.once('remoteSettings', resolve));
    const res = { enableConnectProtocol: !!s.remoteSettings.enableConnectProtocol };
    if (!res.enableConnectProtocol) done(res);
    const req = s.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': u.protocol.replace(':', ''),
      ':path': u.pathname + u.search, ':authority': authority || u.host, 'sec-websocket-version': '13' },
    { endStream: false });
    let buf = Buffer.alloc(0);
    const msgs = [];
    let wake = null;
    const frame = (opcode, payload) => {
      const mask = crypto.randomBytes(4);
      let hdr;
      if (payload.length < 126) hdr = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
      else if (payload.length < 65536) { hdr = Buffer.alloc(4); hdr[0] = 0x80 | opcode; hdr[1] = 0x80 | 126; hdr.writeUInt16BE(payload.length, 2); }
      else { hdr = Buffer.alloc(10); hdr[0] = 0x80 | opcode; hdr[1] = 0x80 | 127; hdr.writeBigUInt64BE(BigInt(payload.length), 2); }
      const m = Buffer.from(payload);
      for (let i = 0; i < m.length; i++) m[i] ^= mask[i % 4];
      return Buffer.concat([hdr, mask, m]);
    };
    const parse = () => {
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f, off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf[1] & 0x80) off += 4; // server frames are not masked; tolerate it anyway
        if (buf.length < off + len) return;
        msgs.push({ opcode: buf[0] & 0x0f, fin: !!(buf[0] & 0x80), payload: buf.subarray(off, off + len) });
        buf = buf.subarray(off + len);
        if (wake) { const w = wake; wake = null; w(); }
      }
    };
    const next = () => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no websocket message')), 10000);
      const check = () => { if (msgs.length) { clearTimeout(t); resolve(msgs.shift()); } else wake = check; };
      check();
    });
    req.on('data', (d) => { buf = Buffer.concat([buf, d]); parse(); });
    req.on('error', (e) => { res.error = String(e); });
    const head = await new Promise((resolve) => { req.on('response', resolve); req.on('close', () => resolve(null)); });
    res.status = head && head[':status'];
    if (res.status !== 200) { s.close(); done(res); }
    try {
      res.greeting = (await next()).payload.toString();
      req.write(frame(1, Buffer.from('ping-1 über')));
      const t = await next();
      res.text_echo = t.opcode === 1 ? t.payload.toString() : 'opcode ' + t.opcode;
      const bin = crypto.randomBytes(70000);
      req.write(frame(2, bin));
      const b = await next();
      res.binary_ok = b.opcode === 2 && Buffer.compare(b.payload, bin) === 0;
      req.write(frame(8, Buffer.from([0x03, 0xe8])));
      const c = await next();
      res.close_code = c.opcode === 8 && c.payload.length >= 2 ? c.payload.readUInt16BE(0) : null;
      req.end();
    } catch (e) { res.error = String(e); }
    s.close();
    done(res);
  } else if (mode === 'early') {
    const base = new URL(args[0]);
    const path = args[1], n = parseInt(args[2], 10), size = parseInt(args[3], 10);
    const s = connect(base.origin);
    s.on('error', (e) => done({ error: String(e) }, 2));
    const body = Buffer.alloc(size, 0x61);
    const results = [];
    for (let i = 0; i < n; i++) {
      results.push(await new Promise((resolve) => {
        const req = s.request({ ':method': 'POST', ':path': path });
        let status = null, bytes = 0;
        req.on('response', (hd) => { status = hd[':status']; });
        req.on('data', (d) => { bytes += d.length; });
        req.on('error', () => {}); // the outcome is read from rstCode at 'close'
        req.on('close', () => resolve({ status, bytes, rstCode: req.rstCode }));
        req.end(body);
      }));
    }
    const r = await request(s, { ':method': 'POST', ':path': '/sha256' }, body);
    s.close();
    done({ results, after: { status: r.status, text: r.text.trim() } });
  } else if (mode === 'seq') {
    const base = new URL(args[0]);
    const s = connect(base.origin);
    s.on('error', (e) => done({ error: String(e) }, 2));
    const results = [];
    for (const p of args.slice(1)) {
      const r = await request(s, { ':method': 'GET', ':path': p });
      results.push({ path: p, status: r.status, backend: r.headers && r.headers['x-backend'],
        bytes: r.bytes, sha256: r.sha256 });
    }
    s.close();
    done({ results });
  } else {
    done({ error: 'unknown mode ' + mode }, 2);
  }
}
main().catch((e) => done({ error: String(e && e.stack || e) }, 2));
