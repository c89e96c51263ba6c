// One live connection per candidate (issue 11, hardening): a second login for an attempt
// that a live connection holds is refused — the first keeps it — and the proctor gets a
// `second_login` event; a `resume` with the token (the same browser reconnecting) takes
// the attempt over and the old connection is told and closed; once a connection has gone,
// the next login works at once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { KcClient, idNumber, requireEnv, sessionWith } from '../lib/kc.mjs';
import { dbConf, sql } from '../lib/db.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const db = dbConf(env.config);
const RUN = Date.now().toString(36);
const SESSION = `OC-${RUN}`;
const kc = (...args) => promisify(execFile)(env.bin, ['--config', env.config, ...args], { timeout: 60000 });

const who = { ticket: `OC${RUN}1`, idno: idNumber(951), name: '单连接考生' };

const open = [];
async function connect() {
  const c = await KcClient.connect(env.url);
  open.push(c);
  return c;
}
after(() => { for (const c of open) c.ws.terminate(); });

async function until(what, pred, timeoutMs = 8000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('one live connection per candidate', () => {
  let first, token, attemptId;

  before(async () => {
    await sessionWith(kc, { code: SESSION, title: '单连接测试', paper: 'TYPES-P', duration: '30m' }, [who]);
    const [[id]] = await sql(db, `SELECT id FROM attempt WHERE ticket_no = '${who.ticket}'`);
    attemptId = id;
  });

  test('the first login holds the attempt', async () => {
    first = await connect();
    const w = await first.request({ type: 'login', ticket: who.ticket, id_number: who.idno });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    token = w.token;
    const p = await first.request({ type: 'start' }, 15000);
    assert.equal(p.type, 'paper', JSON.stringify(p).slice(0, 200));
  });

  test('a second login from another connection is refused; the first keeps working', async () => {
    const second = await connect();
    const r = await second.request({ type: 'login', ticket: who.ticket, id_number: who.idno });
    assert.equal(r.type, 'error', JSON.stringify(r));
    assert.equal(r.code, 'already_connected');
    assert.equal(r.token, undefined, 'no token for the refused one');
    // The refused connection is not a candidate's: start needs a login.
    const s = await second.request({ type: 'start' });
    assert.equal(s.code, 'unauthenticated', JSON.stringify(s));
    const t = await first.request({ type: 'heartbeat', events: [] });
    assert.equal(t.type, 'time', 'the first connection still works');
    const rows = await until('the second_login event', async () => {
      const r = await sql(db, `SELECT detail FROM attempt_event WHERE attempt_id = ${attemptId} AND kind = 'second_login'`);
      return r.length ? r : null;
    });
    assert.ok(rows.length >= 1 && /peer=/.test(rows[0][0]), JSON.stringify(rows));
  });

  test('a resume with the token takes the attempt over; the old connection is told and closed', async () => {
    const third = await connect();
    const w = await third.request({ type: 'resume', token });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    const told = await first.next((m) => m.type === 'error' && m.code === 'taken_over', 5000, 'taken_over');
    assert.ok(told.message);
    await Promise.race([first.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('old connection not closed')), 5000))]);
    const p = await third.request({ type: 'start' }, 15000);
    assert.equal(p.type, 'paper');
    const item = p.paper.items.find((it) => it.type === 'single');
    const a = await third.request({ type: 'answer', item: item.item, response: 'A', seq: (p.last_seq || 0) + 1 });
    assert.equal(a.type, 'ack', JSON.stringify(a));
    third.ws.close();
    await third.closed;
  });

  test('once the holder has gone, a login works at once', async () => {
    const fourth = await connect();
    const w = await until('a login after the close', async () => {
      const r = await fourth.request({ type: 'login', ticket: who.ticket, id_number: who.idno });
      return r.type === 'welcome' ? r : null;
    }, 3000);
    assert.equal(w.attempt.status, 'in_progress');
  });
});

// Extra time (kaochang attempt extra-time): the deadline moves in the database, every node
// polls for such changes, and the node holding the candidate pushes the new deadline through
// the attempt's topic (fan-out). The attempt is then not submitted at the old deadline.
describe('extra time reaches the candidate', () => {
  const RUN2 = `${RUN}x`;
  const SESSION2 = `OCX-${RUN2}`;
  const cand = { ticket: `OX${RUN2}1`, idno: idNumber(952), name: '加时考生' };
  before(async () => {
    await sessionWith(kc, { code: SESSION2, title: '加时测试', paper: 'TYPES-P', duration: '4s' }, [cand]);
  });

  test('a running attempt gets +1 min: the new deadline is pushed, no submit at the old one', { timeout: 30000 }, async () => {
    const c = await connect();
    assert.equal((await c.request({ type: 'login', ticket: cand.ticket, id_number: cand.idno })).type, 'welcome');
    const p = await c.request({ type: 'start' }, 15000);
    const old = p.attempt.deadline;
    const out = await kc('attempt', 'extra-time', cand.ticket, '1', '--reason', '机器故障');
    assert.match(out.stdout, /\+1 min, deadline now/);
    const pushed = await c.next((m) => m.type === 'time' && m.id === undefined, 5000, 'the pushed deadline');
    assert.equal(pushed.deadline, old + 60000);
    // Past the old deadline the attempt still runs and takes answers.
    await new Promise((r) => setTimeout(r, Math.max(0, old - Date.now()) + 2500));
    const item = p.paper.items.find((it) => it.type === 'single');
    const a = await c.request({ type: 'answer', item: item.item, response: 'A', seq: (p.last_seq || 0) + 1 });
    assert.equal(a.type, 'ack', JSON.stringify(a));
    assert.equal(c.seen.filter((m) => m.type === 'submitted').length, 0, 'not submitted at the old deadline');
    const ev = await sql(db, `SELECT detail FROM attempt_event e JOIN attempt a ON a.id = e.attempt_id WHERE a.ticket_no = '${cand.ticket}' AND e.kind = 'extra_time'`);
    assert.equal(ev.length, 1);
    assert.match(ev[0][0], /\+1 min by cli: 机器故障/);
  });

  test('extra time for an attempt that has ended is refused', async () => {
    await assert.rejects(kc('attempt', 'extra-time', 'NO-SUCH-TICKET', '5'), /no such admission ticket/);
    await assert.rejects(kc('attempt', 'extra-time', cand.ticket, '0'), /not in 1\.\.600/);
  });
});
