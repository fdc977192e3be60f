#!/usr/bin/env node
// Load client for bench/tunnel (node http2; one stream, one connection).
// Prints one JSON object.  Only used with `bench/tunnel --client node`:
// the default is bench/tunnel-client.c (same interface), because node was
// the bottleneck through the proxies.
//
//   tunnel-client.js up|down tcp HOST:PORT BYTES
//   tunnel-client.js up|down connect URL HOST:PORT BYTES    classic CONNECT
//   tunnel-client.js up|down ext URL PATH BYTES             RFC 8441, :protocol websocket
//   tunnel-client.js rtt tcp HOST:PORT N
//   tunnel-client.js rtt ext URL PATH N
//
// up: writes BYTES into the tunnel as fast as flow control allows, then
// half-closes; the sink answers with its byte count once it has them all
// -> {bytes, secs, mbps}.
// down: reads BYTES from a source until its EOF -> {bytes, secs, mbps}.
// rtt: N sequential round trips of a 32-byte message through an echo
// target -> {n, secs, rtt_per_sec, us_per_rtt}.  The clock starts once the
// tunnel is established (200 / TCP connect).
'use strict';
const http2 = require('http2');
const net = require('net');

const [dir, kind, ...rest] = process.argv.slice(2);
const CHUNK = Buffer.alloc(256 * 1024, 0x61);
const out = (o) => { process.stdout.write(JSON.stringify(o) + '\n'); process.exit(o.error ? 1 : 0); };
setTimeout(() => out({ error: 'timeout' }), 600000).unref();

// open(): a duplex byte stream to the target, resolved once established.
function open() {
  return new Promise((resolve, reject) => {
    if (kind === 'tcp') {
      const [h, p] = rest[0].split(':');
      const s = net.connect({ host: h, port: +p }, () => { s.setNoDelay(true); resolve({ s, close() {} }); });
      s.on('error', reject);
      return;
    }
    const sess = http2.connect(rest[0], {
      settings: { enablePush: false, initialWindowSize: 16 * 1024 * 1024 - 1 },
    });
    sess.on('error', reject);
    sess.on('connect', () => sess.setLocalWindowSize(64 * 1024 * 1024));
    const go = () => {
      const u = new URL(rest[0]);
      const hd = kind === 'connect'
        ? { ':method': 'CONNECT', ':authority': rest[1] }
        : { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': u.protocol.replace(':', ''),
            ':path': rest[1], ':authority': u.host, 'sec-websocket-version': '13' };
      const s = sess.request(hd, { endStream: false });
      s.on('error', reject);
      s.on('response', (h) => {
        if (h[':status'] !== 200) reject(new Error('status ' + h[':status']));
        else resolve({ s, close() { sess.close(); } });
      });
    };
    if (kind === 'ext') sess.once('remoteSettings', (st) => {
      if (!st.enableConnectProtocol) reject(new Error('no SETTINGS_ENABLE_CONNECT_PROTOCOL'));
      else go();
    });
    else go();
  });
}

async function main() {
  const { s, close } = await open();
  const n = parseInt(rest[kind === 'tcp' ? 1 : 2], 10);
  const t0 = process.hrtime.bigint();
  const secs = () => Number(process.hrtime.bigint() - t0) / 1e9;
  if (dir === 'up') {
    let reply = '';
    // the sink answers its count once it has BYTES (nghttpx does not turn
    // END_STREAM into a half-close of a WebSocket backend)
    const ended = new Promise((resolve) => s.on('data', (d) => { reply += d; if (reply.endsWith('\n')) resolve(); }));
    let left = n;
    while (left > 0) {
      const k = Math.min(left, CHUNK.length);
      left -= k;
      if (!s.write(k === CHUNK.length ? CHUNK : CHUNK.subarray(0, k))) {
        await new Promise((resolve) => s.once('drain', resolve));
      }
    }
    s.end();
    await ended;
    const t = secs();
    close();
    if (parseInt(reply, 10) !== n) out({ error: 'sink counted ' + reply.trim() + ' of ' + n });
    out({ bytes: n, secs: t, mbps: n / t / 1e6 });
  } else if (dir === 'down') {
    let got = 0;
    s.on('data', (d) => { got += d.length; });
    await new Promise((resolve) => s.on('end', resolve));
    const t = secs();
    close();
    if (got !== n) out({ error: 'received ' + got + ' of ' + n });
    out({ bytes: n, secs: t, mbps: n / t / 1e6 });
  } else if (dir === 'rtt') {
    const msg = Buffer.alloc(32, 0x62);
    let have = 0;
    let wake = null;
    s.on('data', (d) => { have += d.length; if (wake && have >= 32) { have -= 32; const w = wake; wake = null; w(); } });
    for (let i = 0; i < n; i++) {
      await new Promise((resolve) => { wake = resolve; s.write(msg); });
    }
    const t = secs();
    s.end();
    close();
    out({ n, secs: t, rtt_per_sec: n / t, us_per_rtt: t / n * 1e6 });
  } else {
    out({ error: 'unknown mode ' + dir });
  }
}
main().catch((e) => out({ error: String(e && e.message || e) }));
