// Dead peers are found by the server's own liveness tracking (a per-second wheel, not
// lws's validity timers): a silent connection gets one PING after server.idle_ping and is
// closed after server.idle_close unless something arrives — a PONG or any message (a
// client that sends heartbeats but never answers PINGs is alive). run-e2e.sh sets the
// idle times short; this reads them from the config.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { requireEnv } from '../lib/kc.mjs';

const env = requireEnv('KC_URL', 'KC_CONFIG');
const conf = readFileSync(env.config, 'utf8');
const idle = (k, d) => Number((conf.match(new RegExp(`^${k}\\s*=\\s*(\\d+)`, 'm')) || [])[1] || d);
const PING_S = idle('idle_ping', 30), CLOSE_S = idle('idle_close', 75);
const { hostname, port } = new URL(env.url);

// A bare WebSocket client: frames are parsed by hand, so PINGs can be left unanswered.
function rawClient() {
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    const c = { sock, frames: [], closedAt: 0, openedAt: 0, buf: Buffer.alloc(0), upgraded: false };
    sock.on('connect', () => {
      sock.write(`GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
        'Sec-WebSocket-Protocol: kaochang.v1\r\n\r\n');
    });
    sock.on('data', (d) => {
      c.buf = Buffer.concat([c.buf, d]);
      if (!c.upgraded) {
        const end = c.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!/^HTTP\/1\.1 101/.test(c.buf.subarray(0, end).toString())) return reject(new Error('no upgrade'));
        c.upgraded = true;
        c.openedAt = Date.now();
        c.buf = c.buf.subarray(end + 4);
        resolve(c);
      }
      while (c.buf.length >= 2) {
        let len = c.buf[1] & 0x7f, off = 2;
        if (len === 126) { if (c.buf.length < 4) return; len = c.buf.readUInt16BE(2); off = 4; }
        if (c.buf.length < off + len) return;
        c.frames.push({ op: c.buf[0] & 0x0f, data: c.buf.subarray(off, off + len), at: Date.now() });
        c.buf = c.buf.subarray(off + len);
      }
    });
    sock.on('close', () => { c.closedAt = Date.now(); });
    sock.on('error', () => {});
  });
}

function send(c, op, payload) {   // a masked client frame
  const data = Buffer.from(payload), mask = randomBytes(4);
  const head = Buffer.from([0x80 | op, 0x80 | data.length]);
  const body = Buffer.from(data.map((b, i) => b ^ mask[i % 4]));
  c.sock.write(Buffer.concat([head, mask, body]));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a silent client gets one PING and is closed once idle_close has passed', { timeout: (CLOSE_S + 10) * 1000 }, async () => {
  const c = await rawClient();
  while (!c.closedAt && Date.now() - c.openedAt < (CLOSE_S + 4) * 1000) await sleep(100);
  const pings = c.frames.filter((f) => f.op === 0x9);
  assert.equal(pings.length, 1, 'exactly one PING before the close');
  const pingAfter = (pings[0].at - c.openedAt) / 1000;
  assert.ok(pingAfter >= PING_S - 1 && pingAfter <= PING_S + 2, `PING after ${pingAfter} s (idle_ping ${PING_S})`);
  assert.ok(c.closedAt, 'closed');
  const closedAfter = (c.closedAt - c.openedAt) / 1000;
  assert.ok(closedAfter >= CLOSE_S - 1 && closedAfter <= CLOSE_S + 3, `closed after ${closedAfter} s (idle_close ${CLOSE_S})`);
});

test('a client that answers PINGs stays connected', { timeout: (CLOSE_S + 10) * 1000 }, async () => {
  const c = await rawClient();
  let answered = 0;
  const until = Date.now() + (CLOSE_S + 3) * 1000;
  while (Date.now() < until && !c.closedAt) {
    for (const f of c.frames.splice(0)) if (f.op === 0x9) { send(c, 0xA, f.data); answered++; }
    await sleep(100);
  }
  assert.equal(c.closedAt, 0, 'still open');
  assert.ok(answered >= 1, 'it was PINGed');
  c.sock.destroy();
});

test('a client that sends messages but never answers PINGs stays connected', { timeout: (CLOSE_S + 10) * 1000 }, async () => {
  const c = await rawClient();
  const until = Date.now() + (CLOSE_S + 3) * 1000;
  let n = 0;
  while (Date.now() < until && !c.closedAt) {
    send(c, 0x1, JSON.stringify({ type: 'time', id: n++ }));
    await sleep(Math.max(500, (PING_S * 1000) / 2));
  }
  assert.equal(c.closedAt, 0, 'still open');
  assert.equal(c.frames.filter((f) => f.op === 0x9).length, 0, 'never silent, never PINGed');
  assert.ok(c.frames.filter((f) => f.op === 0x1).length >= 2, 'its messages were answered');
  c.sock.destroy();
});
