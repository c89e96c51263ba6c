// The WebSocket refuses a page of another site (cross-site WebSocket hijacking): its own
// origin and clients that send no Origin (no browser page) are accepted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { requireEnv } from '../lib/kc.mjs';

const env = requireEnv('KC_URL');
const wsUrl = env.url.replace(/^http/, 'ws') + '/';

function attempt(origin) {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl, 'kaochang.v1', origin ? { origin } : {});
    const done = (what) => { ws.terminate(); resolve(what); };
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'time', id: 1 }));
      ws.on('message', (d) => done(JSON.parse(d).type));
    });
    ws.on('unexpected-response', (_req, res) => done(`http ${res.statusCode}`));
    ws.on('error', () => done('error'));
    ws.on('close', () => done('closed'));
    setTimeout(() => done('timeout'), 5000);
  });
}

test('the server\'s own origin opens the WebSocket', async () => {
  assert.equal(await attempt(env.url), 'time');
});

test('no Origin (a non-browser client) opens the WebSocket', async () => {
  assert.equal(await attempt(null), 'time');
});

test('a page of another site cannot open the WebSocket', async () => {
  const got = await attempt('http://evil.example');
  assert.notEqual(got, 'time', 'the upgrade must be refused');
  assert.notEqual(got, 'timeout');
});
