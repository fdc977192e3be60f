#!/usr/bin/env node
// Node http2 cleartext (prior knowledge) backend for the tests of h2c://
// upstreams.  Writes one JSON object a line to LOG for what it sees:
//   {ev:'session', session}            a new connection
//   {ev:'goaway', session, code}       a GOAWAY from h2gate
//   {ev:'session-close', session}      the connection closed
//   {ev:'ping', session}               a PING from h2gate
//   {ev:'stream', session, id, path, headers}
//   {ev:'close', session, id, path, rstCode, answered}   a stream closed
//   {ev:'pushed', path, bytes}         /big/N: bytes written so far (at each stall)
//
//   node h2backend.js PORT LOG [--max-streams N] [--tls CERT KEY]
//
// Paths:
//   /hello              "hello\n", x-session: the connection's number
//   /trailers           a body, then trailers x-checksum (its sha256) and grpc-status: 0
//   /echo, .../echo     reads the request body and trailers, answers JSON
//                       {bytes, sha256, trailers, te, xff, forwarded, connection}
//   /big/N              N bytes, written as flow control lets them go
//   /rst-before/CODE    RST_STREAM(CODE) before any response
//   /rst-after/CODE     200, 1000 bytes, then RST_STREAM(CODE)
//   /hang               never answers (its close is logged)
//   /goaway             the first connection to get such requests holds them
//                       until 6 are there (or 2 s), sends GOAWAY with the
//                       third's id as last-stream-id, answers the streams up
//                       to it and leaves the others; later ones are answered
//   /slow/MS            answers "slow\n" after MS milliseconds
//   extended CONNECT    (SETTINGS_ENABLE_CONNECT_PROTOCOL is on) any path:
//                       200 with x-protocol: the :protocol, then an echo
'use strict';
const http2 = require('http2');
const fs = require('fs');
const crypto = require('crypto');

const args = process.argv.slice(2);
const port = Number(args[0]);
const logFile = args[1];
const msIdx = args.indexOf('--max-streams');
const maxStreams = msIdx >= 0 ? Number(args[msIdx + 1]) : 100;

function log(o) {
  fs.appendFileSync(logFile, JSON.stringify(o) + '\n');
}

let sessions = 0;
let goawayDone = false;
let held = [];
let holdTimer = null;

// --tls CERT KEY: a secure server (ALPN h2).
const tlsIdx = args.indexOf('--tls');
const serverOpts = { settings: { maxConcurrentStreams: maxStreams, enableConnectProtocol: true } };
if (tlsIdx >= 0) {
  serverOpts.cert = fs.readFileSync(args[tlsIdx + 1]);
  serverOpts.key = fs.readFileSync(args[tlsIdx + 2]);
}
const server = tlsIdx >= 0 ? http2.createSecureServer(serverOpts) : http2.createServer(serverOpts);

server.on('session', (s) => {
  s.num = ++sessions;
  log({ ev: 'session', session: s.num });
  s.on('ping', () => log({ ev: 'ping', session: s.num }));
  s.on('close', () => log({ ev: 'session-close', session: s.num }));
  s.on('goaway', (code) => log({ ev: 'goaway', session: s.num, code }));
  s.on('error', () => {});
});

function releaseGoaway() {
  if (goawayDone || held.length === 0) return;
  goawayDone = true;
  clearTimeout(holdTimer);
  held.sort((a, b) => a.id - b.id);
  const last = held[Math.min(2, held.length - 1)].id;
  held[0].session.goaway(http2.constants.NGHTTP2_NO_ERROR, last);
  for (const st of held) {
    if (st.id <= last) answer(st, 200, 'served session=' + st.session.num + ' stream=' + st.id + '\n');
  }
  held = [];
}

function answer(stream, status, body, extra) {
  if (stream.destroyed || stream.closed) return;
  stream.answered = true;
  stream.respond(Object.assign({ ':status': status, 'x-session': String(stream.session.num) }, extra || {}));
  stream.end(body);
}

function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 97 + (i % 26);
  return b;
}

function big(stream, total) {
  stream.answered = true;
  stream.respond({ ':status': 200, 'content-length': String(total) });
  const chunk = pattern(16384);
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!stream.write(chunk.subarray(0, n))) {
        log({ ev: 'pushed', path: stream.path, bytes: sent });
        stream.once('drain', pump);
        return;
      }
    }
    log({ ev: 'pushed', path: stream.path, bytes: sent });
    stream.end();
  };
  pump();
}

function echo(stream, headers) {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  let trailers = null;
  stream.on('trailers', (t) => { trailers = t; });
  stream.on('data', (d) => { h.update(d); bytes += d.length; });
  stream.on('end', () => {
    const body = JSON.stringify({
      bytes, sha256: h.digest('hex'), trailers, te: headers.te || null,
      xff: headers['x-forwarded-for'] || null, forwarded: headers.forwarded || null,
      connection: headers.connection || null, authority: headers[':authority'],
    });
    answer(stream, 200, body, { 'content-type': 'application/json' });
  });
}

server.on('stream', (stream, headers) => {
  const path = headers[':path'];
  const sess = stream.session;
  stream.path = path;
  const rec = { ev: 'stream', session: sess.num, id: stream.id, path, headers };
  log(rec);
  stream.on('error', () => {});
  stream.on('close', () => {
    log({ ev: 'close', session: sess.num, id: stream.id, path, rstCode: stream.rstCode, answered: !!stream.answered });
  });
  const parts = path.split('/');
  if (headers[':method'] === 'CONNECT') {
    // extended CONNECT (RFC 8441): 200, then every byte echoed
    stream.answered = true;
    stream.respond({ ':status': 200, 'x-protocol': headers[':protocol'] });
    stream.on('data', (d) => stream.write(d));
    stream.on('end', () => stream.end());
  } else if (path === '/hello') {
    answer(stream, 200, 'hello\n');
  } else if (path === '/trailers') {
    const body = 'trailers body line\n'.repeat(100);
    const sum = crypto.createHash('sha256').update(body).digest('hex');
    stream.answered = true;
    stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': sum, 'grpc-status': '0' }));
    stream.end(body);
  } else if (path === '/echo' || path.endsWith('/echo')) {
    echo(stream, headers);
  } else if (parts[1] === 'big') {
    big(stream, Number(parts[2]));
  } else if (parts[1] === 'rst-before') {
    stream.close(Number(parts[2]));
  } else if (parts[1] === 'rst-after') {
    stream.answered = true;
    stream.respond({ ':status': 200 });
    stream.write(pattern(1000));
    setTimeout(() => stream.close(Number(parts[2])), 100);
  } else if (path === '/hang') {
    // never answered
  } else if (path === '/goaway') {
    if (goawayDone) {
      answer(stream, 200, 'served session=' + sess.num + ' stream=' + stream.id + '\n');
      return;
    }
    held.push(stream);
    if (held.length === 1) holdTimer = setTimeout(releaseGoaway, 2000);
    if (held.length >= 6) releaseGoaway();
  } else if (parts[1] === 'slow') {
    setTimeout(() => answer(stream, 200, 'slow\n'), Number(parts[2]));
  } else {
    answer(stream, 404, 'no such path\n');
  }
});

server.listen(port, '127.0.0.1');
