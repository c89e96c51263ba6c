// Login throttling (issue 11, hardening): guesses of a candidate's ID number are limited
// per (ticket, address) — five wrong ones, then `throttled` even with the right one — while
// the real candidate at another address logs in as usual (an attacker cannot lock a room
// out from one address); every failure becomes a `login_failed` event of that ticket's
// attempt for the proctor; connections per address are limited (run-e2e.sh sets
// limits.connections_per_address = 20; 127.0.0.1 is trusted, so only other addresses count).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { KcClient, idNumber, requireEnv, sessionWith, wsUrl } from '../lib/kc.mjs';
import { dbConf, sql } from '../lib/db.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const db = dbConf(env.config);
const RUN = Date.now().toString(36);
const SESSION = `TH-${RUN}`;
const kc = (...args) => promisify(execFile)(env.bin, ['--config', env.config, ...args], { timeout: 60000 });

const victim = { ticket: `TH${RUN}1`, idno: idNumber(961), name: '被猜考生' };

const open = [];
async function from(address) {
  const c = await KcClient.connect(env.url, 5000, { localAddress: address });
  open.push(c);
  return c;
}
after(() => { for (const c of open) c.ws.terminate(); });

describe('login throttling', () => {
  let attemptId;
  before(async () => {
    await sessionWith(kc, { code: SESSION, title: '限流测试', paper: 'TYPES-P', duration: '30m' }, [victim]);
    [[attemptId]] = await sql(db, `SELECT id FROM attempt WHERE ticket_no = '${victim.ticket}'`);
  });

  test('five wrong ID numbers from one address, then throttled there even with the right one', async () => {
    for (let i = 0; i < 5; i++) {
      const c = await from('127.0.0.3');     // a new connection each time: no per-connection limit helps
      const r = await c.request({ type: 'login', ticket: victim.ticket, id_number: idNumber(100 + i) });
      assert.equal(r.code, 'bad_credentials', JSON.stringify(r));
      c.ws.close();
    }
    const c = await from('127.0.0.3');
    const r = await c.request({ type: 'login', ticket: victim.ticket, id_number: victim.idno });
    assert.equal(r.code, 'throttled', JSON.stringify(r));
    assert.equal(r.reason, 'ticket');
    assert.ok(r.retry_after_ms >= 1000, JSON.stringify(r));
  });

  test('the real candidate at another address is not locked out', async () => {
    const c = await from('127.0.0.4');
    const w = await c.request({ type: 'login', ticket: victim.ticket, id_number: victim.idno });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    c.ws.close();
    await c.closed;
  });

  test('each failure is an event of the attempt, with the address', async () => {
    const end = Date.now() + 8000;
    let rows = [];
    while (Date.now() < end) {
      rows = await sql(db, `SELECT detail FROM attempt_event WHERE attempt_id = ${attemptId} AND kind = 'login_failed' ORDER BY id`);
      if (rows.length >= 5) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(rows.length, 5, JSON.stringify(rows));
    assert.ok(rows.every(([d]) => d.includes('peer=127.0.0.3')), JSON.stringify(rows));
  });

  test('connections from one address are limited (limits.connections_per_address)', async () => {
    const conf = (await kc('config')).stdout;
    const limit = Number((conf.match(/^connections_per_address\s*=\s*(\d+)/m) || [])[1]);
    assert.ok(limit > 0 && limit <= 50, `run-e2e.sh sets a small limit, got ${limit}`);
    const socks = [];
    for (let i = 0; i < limit; i++) socks.push(await from('127.0.0.5'));
    const refused = await new Promise((resolve) => {
      const ws = new WebSocket(wsUrl(env.url), 'kaochang.v1', { localAddress: '127.0.0.5' });
      ws.on('close', () => resolve(true));
      ws.on('error', () => resolve(true));
      ws.on('open', () => ws.once('message', () => resolve(false)) && ws.send('{"type":"time"}'));
      setTimeout(() => resolve('timeout'), 5000);
    });
    assert.equal(refused, true, 'one more from that address is refused');
    const other = await from('127.0.0.6');
    assert.equal((await other.request({ type: 'time' })).type, 'time', 'another address still connects');
    socks[0].ws.close();
    await socks[0].closed;
    await new Promise((r) => setTimeout(r, 200));
    const again = await from('127.0.0.5');
    assert.equal((await again.request({ type: 'time' })).type, 'time', 'a freed place can be taken again');
  });
});
