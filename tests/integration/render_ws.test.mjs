// Papers rendered once, when the session is prepared, and started by hash (docs/PROTOCOL.md,
// `start` and `paper`): tests/run-e2e.sh prepares session RENDER (template ASM-RENDER, a
// paper per candidate) for tests/fixtures/candidates-render.csv. `start` sends the stored
// JSON as it is with its SHA-256 as `paper.hash`; a client that sends that hash back gets
// {"hash","unchanged":true} instead of the items, and everything else as always.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { KcClient, candidates, requireEnv } from '../lib/kc.mjs';
import { dbConf, sql } from '../lib/db.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const db = dbConf(env.config);
const [first, second, third] = candidates(env.fixtures, 'candidates-render.csv');
const HASH = /^[0-9a-f]{64}$/;
const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest('hex');

const open = [];
after(() => { for (const c of open) c.ws.terminate(); });

/** A logged-in connection that also keeps every message as the text that arrived: a login
 * the first time, then a resume with the candidate's token (as a reconnecting page does). */
const tokens = new Map();
async function login(who) {
  const c = await KcClient.connect(env.url);
  open.push(c);
  c.raw = [];
  c.ws.on('message', (d) => c.raw.push(d.toString()));
  const token = tokens.get(who.ticket);
  const w = await c.request(token ? { type: 'resume', token }
    : { type: 'login', ticket: who.ticket, id_number: who.idno });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  tokens.set(who.ticket, w.token);
  return { c, token: w.token };
}

/** start (with paper_hash when given): the reply and the text it came as. */
async function start(c, paperHash) {
  const msg = { type: 'start' };
  if (paperHash !== undefined) msg.paper_hash = paperHash;
  const m = await c.request(msg, 10000);
  const text = c.raw.find((t) => { const x = JSON.parse(t); return x.id === m.id && x.type === 'paper'; });
  return { m, text };
}

/** The paper object as sent, without its "hash" member: the stored JSON, byte for byte. */
function storedText(text) {
  const at = text.indexOf('"paper":{"hash":"');
  assert.ok(at >= 0, `a paper object in ${text.slice(0, 200)}`);
  const body = text.slice(at + '"paper":'.length);
  const rest = body.replace(/^\{"hash":"[0-9a-f]{64}",/, '{');
  return rest.slice(0, rest.length - 1);      // the reply's own closing brace
}

function assertNoKeys(items) {
  for (const it of items) {
    for (const f of ['answer', 'key_', 'keys', 'explanation', 'mc_policy', 'answer_key', '解析', '答案']) {
      assert.equal(f in it, false, `item ${it.item} must not carry ${f}`);
    }
    if (it.children) assertNoKeys(it.children);
  }
}

const prepare = (code) => promisify(execFile)(env.bin, ['--config', env.config, 'session', 'prepare', code],
  { timeout: 60000 });

describe('papers rendered once, started by hash', () => {
  let paper, hash;

  test('start returns the stored paper with paper.hash, the SHA-256 of exactly what was sent', async () => {
    const { c } = await login(first);
    const { m, text } = await start(c);
    assert.equal(m.type, 'paper', JSON.stringify(m).slice(0, 300));
    assert.match(m.paper.hash, HASH);
    assert.equal(m.paper.unchanged, undefined);
    assert.equal(m.paper.title, '渲染测试卷');
    assert.equal(m.paper.items.length, 40);
    assert.equal(m.paper.total_points, 50);
    assert.deepEqual(m.paper.items.map((it) => it.no), m.paper.items.map((_, i) => i + 1));
    assertNoKeys(m.paper.items);
    assert.equal(sha256(storedText(text)), m.paper.hash, 'the hash is of the bytes of the paper as sent');
    for (const f of ['attempt', 'server_time', 'answers', 'last_seq']) assert.ok(f in m, `paper.${f}`);
    paper = m.paper;
    hash = m.paper.hash;
  });

  test('start with that hash: unchanged, no items, everything else as always', async () => {
    const { c } = await login(first);
    const { m } = await start(c, hash);
    assert.equal(m.type, 'paper', JSON.stringify(m));
    assert.deepEqual(m.paper, { hash, unchanged: true });
    assert.equal(m.attempt.status, 'in_progress');
    assert.ok(Number.isInteger(m.attempt.deadline));
    assert.ok(Number.isInteger(m.server_time));
    assert.deepEqual(m.answers, []);
    assert.equal(m.last_seq, 0);
  });

  test('after a reconnect by token and an unchanged start, answers are checked and saved', async () => {
    const item = paper.items.find((it) => it.type === 'single');
    const { c, token } = await login(first);
    const { m: p } = await start(c, hash);
    assert.equal(p.paper.unchanged, true);
    let m = await c.request({ type: 'answer', item: item.item, response: 'B', seq: 1 });
    assert.equal(m.type, 'ack', JSON.stringify(m));
    // the connection learnt the paper from the stored check data: what the item lacks is refused
    m = await c.request({ type: 'answer', item: item.item, response: 'Z', seq: 2 });
    assert.equal(m.code, 'bad_field', JSON.stringify(m));
    assert.equal(m.field, 'response');
    m = await c.request({ type: 'answer', item: 999999999, response: 'A', seq: 3 });
    assert.equal(m.field, 'item', JSON.stringify(m));
    c.ws.terminate();
    // a new connection resumes with the token: the committed answer comes with the unchanged paper
    const r = await KcClient.connect(env.url);
    open.push(r);
    const w = await r.request({ type: 'resume', token });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    const again = await r.request({ type: 'start', paper_hash: hash }, 10000);
    assert.deepEqual(again.paper, { hash, unchanged: true });
    assert.deepEqual(again.answers, [{ item: item.item, response: 'B', seq: 1 }]);
    assert.equal(again.last_seq, 1);
    m = await r.request({ type: 'answer', item: item.item, response: 'C', seq: 2 });
    assert.equal(m.type, 'ack', JSON.stringify(m));
  });

  test('a hash of another paper gets the whole paper', async () => {
    const { c } = await login(second);
    const { m: mine } = await start(c);
    assert.notEqual(mine.paper.hash, hash, 'each candidate has a paper of their own');
    const { m, text } = await start(c, hash);           // the first candidate's hash
    assert.equal(m.paper.hash, mine.paper.hash);
    assert.equal(m.paper.unchanged, undefined);
    assert.deepEqual(m.paper.items, mine.paper.items);
    assert.equal(sha256(storedText(text)), m.paper.hash);
    const { m: zeros } = await start(c, '0'.repeat(64));
    assert.deepEqual(zeros.paper.items, mine.paper.items);
  });

  test('a malformed paper_hash is bad_field naming it, and the connection stays', async () => {
    const { c } = await login(second);
    for (const bad of ['ABC', 'A'.repeat(64), 'g'.repeat(64), ' '.repeat(64), `${'a'.repeat(63)}`, '', 'a'.repeat(65), 42, null]) {
      const m = await c.request({ type: 'start', paper_hash: bad });
      assert.equal(m.type, 'error', `${JSON.stringify(bad)}: ${JSON.stringify(m)}`);
      assert.equal(m.code, 'bad_field');
      assert.equal(m.field, 'paper_hash');
      assert.match(m.message, /paper_hash/);
    }
    const { m } = await start(c);
    assert.equal(m.type, 'paper');
  });

  test('a paper whose stored rendering is gone is rendered at start, the same as before', async () => {
    const { c } = await login(third);
    const { m } = await start(c);
    const before = m.paper.hash;
    // As a paper made before rendering was stored: no view, and no hash of one on the attempt.
    await sql(db, `DELETE r FROM paper_render r JOIN attempt a ON a.id = r.attempt_id WHERE a.ticket_no = '${third.ticket}'`);
    await sql(db, `UPDATE attempt SET paper_hash = NULL WHERE ticket_no = '${third.ticket}'`);
    const { m: again } = await start(c, before);
    assert.deepEqual(again.paper, { hash: before, unchanged: true }, 'rendering is deterministic');
    const rows = await sql(db, `SELECT r.hash FROM paper_render r JOIN attempt a ON a.id = r.attempt_id WHERE a.ticket_no = '${third.ticket}'`);
    assert.deepEqual(rows, [[before]], 'and stored again');
    const held = await sql(db, `SELECT paper_hash FROM attempt WHERE ticket_no = '${third.ticket}'`);
    assert.deepEqual(held, [[before]], 'with its hash on the attempt, where the next start reads it');
    if (process.env.KC_SERVER_LOG) {
      assert.match(readFileSync(process.env.KC_SERVER_LOG, 'utf8'), /no rendered paper stored; rendering it now/);
    }
  });

  test('the session prepared again: the same hash while nothing changed, a new one once it did', async () => {
    let out = (await prepare('RENDER')).stdout;
    assert.match(out, /rendered 3 papers for the candidates \(0 stored, 3 unchanged/);
    const { c } = await login(first);
    let { m } = await start(c, hash);
    assert.equal(m.paper.unchanged, true, 'nothing changed');
    await sql(db, "UPDATE paper_template SET title = '渲染测试卷（修订）' WHERE code = 'ASM-RENDER'");
    out = (await prepare('RENDER')).stdout;
    assert.match(out, /rendered 3 papers for the candidates \(3 stored, 0 unchanged/);
    ({ m } = await start(c, hash));
    assert.equal(m.paper.unchanged, undefined, 'the paper changed: it comes whole');
    assert.notEqual(m.paper.hash, hash);
    assert.equal(m.paper.title, '渲染测试卷（修订）');
    assert.deepEqual(m.paper.items, paper.items, 'the same items, only the title changed');
    const { m: again } = await start(c, m.paper.hash);
    assert.deepEqual(again.paper, { hash: m.paper.hash, unchanged: true });
  });
});
