#!/usr/bin/env node
// Node http2 client for the h2gate tunnel tests (classic CONNECT, RFC 9113
// 8.5, and extended CONNECT, RFC 8441).  Prints ONE JSON object on stdout;
// exits 2 on an internal error (timeout, exception).  URL is the h2gate
// listener (http: = h2c prior knowledge, https: = TLS, certificate not
// checked unless --ca FILE).
//
//   h2tunnel.js echo URL HOST:PORT [--size N]
//       CONNECT to a tcpserver.py "echo" target: sends "hello\n" and waits for
//       its echo, then N (default 1 MiB) random bytes and waits for all of
//       them back, then half-closes (END_STREAM) and reads to the end: the
//       target answers its EOF with "BYE BYTES SHA256\n" and its own EOF.
//       {status, hello_echo, bulk_echo_ok, after_end, ended, rstCode, error,
//        sent_bytes, sent_sha256}
//   h2tunnel.js first URL HOST:PORT [--size N]
//       CONNECT to a "first" target (it sends "HELLO n\n" and half-closes at
//       once): reads to END_STREAM, THEN writes N bytes and half-closes.
//       {status, greeting, ended, rstCode, error, sent_bytes, sent_sha256}
//   h2tunnel.js status URL HOST:PORT
//       CONNECT, END_STREAM at once, report {status, body, rstCode, error}
//   h2tunnel.js statuses URL HOST:PORT...
//       one CONNECT per target, one after the other on ONE session, each
//       half-closed at once: {results: {"HOST:PORT": status or "rst N"}}
//   h2tunnel.js reset URL HOST:PORT
//       CONNECT to a "reset" target, send a chunk, wait for the stream to end:
//       {status, bytes, ended, rstCode, error}
//   h2tunnel.js idle URL HOST:PORT
//       CONNECT and stay silent until the stream closes:
//       {status, ms (from the 200 to the close), ended, rstCode, error}
//   h2tunnel.js ws URL PATH [--protocol P] [--origin O] [--extensions E]
//                [--size N] [--handshake-only] [--read-body]
//       extended CONNECT :protocol websocket (after checking the server's
//       SETTINGS_ENABLE_CONNECT_PROTOCOL), sec-websocket-version 13 and the
//       optional sec-websocket-protocol / origin; on 200 sends a masked text
//       frame and an N-byte (default 100 KiB) masked binary frame, checks
//       both echoes, then a close frame.
//       {enableConnectProtocol, status, headers, text_echo, binary_ok,
//        close_code, error}; --handshake-only: RST_STREAM(CANCEL) after the 200;
//       --read-body (also for ext): whatever the status, half-close and read
//       the response to its end: {status, headers, body, ended}
//   h2tunnel.js ext URL PATH PROTOCOL [--size N]
//       extended CONNECT with :protocol PROTOCOL; on 2xx the same exchange as
//       "echo" (raw bytes to a tcp:// tunnel route), else the response
//       {enableConnectProtocol, status, headers, body, ...echo fields}
'use strict';
const http2 = require('http2');
const fs = require('fs');
const crypto = require('crypto');

const args = process.argv.slice(2);
const mode = args.shift();
function opt(name, dflt) {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}
const caFile = opt('--ca');
const size = parseInt(opt('--size', mode === 'ws' ? String(100 * 1024) : String(1 << 20)), 10);
const wsProtocol = opt('--protocol');
const wsOrigin = opt('--origin');
const wsExtensions = opt('--extensions');
const handshakeOnly = args.indexOf('--handshake-only') >= 0;
if (handshakeOnly) args.splice(args.indexOf('--handshake-only'), 1);
const readBody = args.indexOf('--read-body') >= 0;
if (readBody) args.splice(args.indexOf('--read-body'), 1);
const timeoutMs = parseInt(opt('--timeout', '30000'), 10);

const res = {};
function done(code) {
  process.stdout.write(JSON.stringify(res) + '\n');
  process.exit(code || 0);
}
setTimeout(() => { res.error = (res.error ? res.error + '; ' : '') + 'client timeout'; done(2); }, timeoutMs);

function connect(url) {
  const o = { settings: { enablePush: false } };
  if (caFile) o.ca = fs.readFileSync(caFile);
  else o.rejectUnauthorized = false;
  const s = http2.connect(url, o);
  s.on('error', (e) => { res.session_error = String(e); });
  return s;
}

// Close the session gracefully (pending DATA is flushed), then report.
function finish(s) {
  setTimeout(() => done(), 3000).unref();
  s.close(() => done());
}

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

// A reader over a stream: collects bytes, lets the caller await "n bytes
// more" or "the end", and records END_STREAM / RST_STREAM.
function reader(req) {
  const r = { buf: Buffer.alloc(0), ended: false, closed: false, waiters: [] };
  const wake = () => { const w = r.waiters; r.waiters = []; w.forEach((f) => f()); };
  req.on('data', (d) => { r.buf = Buffer.concat([r.buf, d]); wake(); });
  req.on('end', () => { r.ended = true; wake(); });
  req.on('close', () => { r.closed = true; res.rstCode = req.rstCode; wake(); });
  req.on('error', (e) => { res.error = String(e); wake(); });
  r.until = (pred, what) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('waiting for ' + what)), timeoutMs - 2000);
    const check = () => {
      if (pred()) { clearTimeout(t); resolve(); } else if (r.closed) {
        clearTimeout(t); reject(new Error('stream closed while waiting for ' + what));
      } else r.waiters.push(check);
    };
    check();
  });
  r.take = async (n, what) => {
    await r.until(() => r.buf.length >= n, what || n + ' bytes');
    const out = r.buf.subarray(0, n);
    r.buf = r.buf.subarray(n);
    return out;
  };
  r.toEnd = () => r.until(() => r.ended || r.closed, 'the end of the stream');
  r.toClose = () => new Promise((resolve) => (r.closed ? resolve() : req.once('close', resolve)));
  return r;
}

function response(req) {
  return new Promise((resolve) => {
    req.once('response', resolve);
    req.once('close', () => resolve(null));
  });
}

async function echoExchange(req, rd) {
  req.write('hello\n');
  res.hello_echo = (await rd.take(6, 'the echo of hello')).toString();
  const bulk = crypto.randomBytes(size);
  req.write(bulk);
  const back = await rd.take(size, 'the echo of ' + size + ' bytes');
  res.bulk_echo_ok = Buffer.compare(back, bulk) === 0;
  const all = Buffer.concat([Buffer.from('hello\n'), bulk]);
  res.sent_bytes = all.length;
  res.sent_sha256 = sha(all);
  req.end(); // END_STREAM: the target must see EOF
  await rd.toEnd();
  res.after_end = rd.buf.toString();
  res.ended = rd.ended;
  await rd.toClose();
}

async function waitSettings(s) {
  if (!s.remoteSettings || s.remoteSettings.enableConnectProtocol === undefined) {
    await new Promise((resolve) => s.once('remoteSettings', resolve));
  }
  res.enableConnectProtocol = !!s.remoteSettings.enableConnectProtocol;
}

function wsFrame(opcode, payload) {
  const mask = crypto.randomBytes(4);
  let hdr;
  if (payload.length < 126) hdr = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
  else if (payload.length < 65536) {
    hdr = Buffer.alloc(4); hdr[0] = 0x80 | opcode; hdr[1] = 0x80 | 126; hdr.writeUInt16BE(payload.length, 2);
  } else {
    hdr = Buffer.alloc(10); hdr[0] = 0x80 | opcode; hdr[1] = 0x80 | 127;
    hdr.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const m = Buffer.from(payload);
  for (let i = 0; i < m.length; i++) m[i] ^= mask[i % 4];
  return Buffer.concat([hdr, mask, m]);
}

async function wsRead(rd) {
  const h = await rd.take(2, 'a websocket frame header');
  let len = h[1] & 0x7f;
  if (len === 126) len = (await rd.take(2)).readUInt16BE(0);
  else if (len === 127) len = Number((await rd.take(8)).readBigUInt64BE(0));
  if (h[1] & 0x80) throw new Error('server frame is masked');
  const payload = len ? await rd.take(len, 'a websocket payload of ' + len) : Buffer.alloc(0);
  return { opcode: h[0] & 0x0f, fin: !!(h[0] & 0x80), payload };
}

async function main() {
  const u = new URL(args[0]);
  const s = connect(u.origin);
  if (mode === 'ws' || mode === 'ext') {
    await waitSettings(s);
    if (!res.enableConnectProtocol) { finish(s); return; }
    const hd = { ':method': 'CONNECT', ':protocol': mode === 'ws' ? 'websocket' : args[2],
      ':scheme': u.protocol.replace(':', ''), ':path': args[1], ':authority': u.host };
    if (mode === 'ws') hd['sec-websocket-version'] = '13';
    if (wsProtocol) hd['sec-websocket-protocol'] = wsProtocol;
    if (wsOrigin) hd.origin = wsOrigin;
    if (wsExtensions) hd['sec-websocket-extensions'] = wsExtensions;
    const req = s.request(hd, { endStream: false });
    const rd = reader(req);
    const head = await response(req);
    res.status = head && head[':status'];
    res.headers = head;
    if (!(res.status >= 200 && res.status < 300) || readBody) {
      req.end();
      await rd.toEnd().catch(() => {});
      res.body = rd.buf.toString();
      res.ended = rd.ended;
      finish(s);
      return;
    }
    if (handshakeOnly) {
      req.close(http2.constants.NGHTTP2_CANCEL);
    } else if (mode === 'ext') {
      await echoExchange(req, rd);
    } else {
      req.write(wsFrame(1, Buffer.from('hello über h2gate')));
      const t = await wsRead(rd);
      res.text_echo = t.opcode === 1 ? t.payload.toString() : 'opcode ' + t.opcode;
      const bin = crypto.randomBytes(size);
      req.write(wsFrame(2, bin));
      const b = await wsRead(rd);
      res.binary_ok = b.opcode === 2 && Buffer.compare(b.payload, bin) === 0;
      res.binary_len = b.payload.length;
      req.write(wsFrame(8, Buffer.from([0x03, 0xe8])));
      const c = await wsRead(rd);
      res.close_code = c.opcode === 8 && c.payload.length >= 2 ? c.payload.readUInt16BE(0) : null;
      req.end();
      await rd.toEnd().catch(() => {});
      res.ended = rd.ended;
    }
    finish(s);
    return;
  }

  if (mode === 'statuses') {
    res.results = {};
    for (const target of args.slice(1)) {
      const q = s.request({ ':method': 'CONNECT', ':authority': target }, { endStream: false });
      const r = reader(q);
      const h = await response(q);
      q.end();
      await r.toClose();
      res.results[target] = h ? h[':status'] : 'rst ' + q.rstCode;
    }
    finish(s);
    return;
  }
  const req = s.request({ ':method': 'CONNECT', ':authority': args[1] }, { endStream: false });
  const rd = reader(req);
  const head = await response(req);
  res.status = head && head[':status'];
  const t0 = Date.now();
  if (mode === 'status' || !(res.status >= 200 && res.status < 300)) {
    req.end();
    await rd.toEnd().catch(() => {});
    res.body = rd.buf.toString();
    await rd.toClose();
  } else if (mode === 'echo') {
    await echoExchange(req, rd);
  } else if (mode === 'first') {
    await rd.toEnd();
    res.ended = rd.ended;
    res.greeting = rd.buf.toString();
    // the target's direction is finished; ours is still open
    const bulk = crypto.randomBytes(size);
    res.sent_bytes = bulk.length;
    res.sent_sha256 = sha(bulk);
    req.end(bulk);
    await rd.toClose();
  } else if (mode === 'reset') {
    req.write('this makes the target reset the connection\n');
    await rd.toEnd().catch(() => {});
    res.ended = rd.ended;
    res.bytes = rd.buf.length;
    await rd.toClose();
  } else if (mode === 'idle') {
    await rd.toClose();
    res.ended = rd.ended;
    res.ms = Date.now() - t0;
  } else {
    res.error = 'unknown mode ' + mode;
    done(2);
  }
  res.rstCode = req.rstCode;
  finish(s);
}
main().catch((e) => { res.error = (res.error ? res.error + '; ' : '') + String(e && e.message || e); done(res.status ? 0 : 2); });
