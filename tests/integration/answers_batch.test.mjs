// Answers of many candidates share a transaction (server.answer_batch); one the database
// refuses must cost only its own reply. A trigger on `answer` refuses the response 'POISON'
// (SIGNAL SQLSTATE '45000'); five candidates of a session of their own (paper TYPES-P) answer
// while the test holds their attempt rows locked, so every answer worker is blocked on one
// answer and all the others, the poisoned one among them, wait in the queue and go to the
// database as one batch. Every other answer must be acked and committed, the poisoned one
// refused with not_saved and absent, and the server's log must name it with the MariaDB error.
//
//   cd tests && KC_URL=http://127.0.0.1:PORT KC_BIN=../build/kaochang KC_CONFIG=… \
//     [KC_SERVER_LOG=…/server.log] node --test integration/answers_batch.test.mjs
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { KcClient, requireEnv } from '../lib/kc.mjs';
import { dbConf, holdLocks, sql } from '../lib/db.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const db = dbConf(env.config);
const RUN = Date.now().toString(36);
const SESSION = `AB-${RUN}`;
const TRIGGER = 'kc_test_poison_answer';
const POISON = 'POISON';
const POISON_MESSAGE = 'kc test: poisoned answer refused';

/** A 身份证号 with the right check digit (GB 11643). */
function idNumber(n) {
  const body = `99010120000101${String(n).padStart(3, '0')}`;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, d, i) => s + Number(d) * w[i], 0);
  return body + '10X98765432'[sum % 11];
}
const people = [0, 1, 2, 3, 4].map((i) => ({ ticket: `AB${RUN}${i}`, idno: idNumber(901 + i), name: `批量考生${i + 1}` }));
const POISONED = 2;                    // the third candidate sends the poisoned answer

const kc = (...args) => promisify(execFile)(env.bin, ['--config', env.config, ...args], { timeout: 60000 });
async function health() {
  const r = await fetch(`${env.url}/metrics`);
  return (await r.json()).pools.answers;
}
async function until(what, pred, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const dropTrigger = () => sql(db, `DROP TRIGGER IF EXISTS ${TRIGGER}`);

const open = [];
let locks = null;
after(async () => {
  for (const c of open) c.ws.terminate();
  if (locks) await locks.release();
  await dropTrigger();
});

describe('one refused answer in a batch', () => {
  const cands = [];            // {who, c, attemptId, items: {single, tf, fill, short}, seq}
  const sent = [];             // {cand, item, response, seq, id, poison}
  let batched = 0;             // answers that waited in the queue together, the poisoned one among them

  before(async () => {
    await kc('session', 'create', '--code', SESSION, '--title', '批量提交测试', '--paper', 'TYPES-P',
      '--duration', '30m');
    const csv = join(tmpdir(), `kc-batch-${RUN}.csv`);
    writeFileSync(csv, `准考证号,身份证号,姓名\n${people.map((p) => `${p.ticket},${p.idno},${p.name}`).join('\n')}\n`);
    try { await kc('session', 'add-candidates', '--session', SESSION, csv); } finally { unlinkSync(csv); }
    await kc('session', 'prepare', SESSION);
    await dropTrigger();
    await sql(db, `DELIMITER //
CREATE TRIGGER ${TRIGGER} BEFORE INSERT ON answer FOR EACH ROW
BEGIN
  IF NEW.response = '${POISON}' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${POISON_MESSAGE}';
  END IF;
END//
DELIMITER ;`);
  });

  test('five candidates log in and start', async () => {
    for (const who of people) {
      const c = await KcClient.connect(env.url);
      open.push(c);
      const w = await c.request({ type: 'login', ticket: who.ticket, id_number: who.idno });
      assert.equal(w.type, 'welcome', JSON.stringify(w));
      const p = await c.request({ type: 'start' }, 15000);
      assert.equal(p.type, 'paper', JSON.stringify(p).slice(0, 300));
      const byType = (t, pred = () => true) => p.paper.items.find((it) => it.type === t && pred(it));
      const items = {
        single: byType('single'), tf: byType('tf'), fill: byType('fill', (it) => it.blanks === 1),
        short: byType('short'),
      };
      for (const [k, v] of Object.entries(items)) assert.ok(v, `TYPES-P has a ${k} item`);
      const [[attemptId]] = await sql(db, `SELECT id FROM attempt WHERE ticket_no = '${who.ticket}'`);
      cands.push({ who, c, attemptId, items, seq: p.last_seq });
    }
  });

  test('the other answers of the batch are acked and committed; the poisoned one gets not_saved', { timeout: 60000 }, async () => {
    // Four answers per candidate; the poisoned candidate's short answer is last in its seq order.
    const plan = [];
    cands.forEach((k, i) => {
      const poison = i === POISONED;
      plan.push({ k, item: k.items.single.item, response: k.items.single.options[1].key });
      plan.push({ k, item: k.items.tf.item, response: i % 2 ? 'T' : 'F' });
      plan.push({ k, item: k.items.fill.item, response: [`填空${i}-${RUN}`] });
      plan.push({ k, item: k.items.short.item, response: poison ? POISON : `简答${i}-${RUN}`, poison });
    });
    const send = (a) => {
      a.seq = ++a.k.seq;
      a.id = a.k.c.nextId++;
      a.k.c.send({ type: 'answer', id: a.id, item: a.item, response: a.response, seq: a.seq });
      sent.push(a);
    };

    // Hold every attempt row: an answer worker that takes an answer now waits for its lock.
    locks = await holdLocks(db, `SELECT id FROM attempt WHERE id IN (${cands.map((k) => k.attemptId).join(',')}) FOR UPDATE`);
    const { workers } = await health();
    assert.ok(workers >= 1, 'the answers pool has workers');
    // One answer at a time until every worker holds one (each takes the single queued answer).
    const blockers = plan.filter((a) => !a.poison).slice(0, workers);
    const rest = plan.filter((a) => !blockers.includes(a));
    for (const a of blockers) {
      send(a);
      const n = sent.length;
      await until(`answer worker ${n} to take its answer`, async () => {
        const h = await health();
        return h.queued === 0 && h.running === n;
      });
    }
    // The rest, the poisoned answer among them, all wait in the queue: one batch later.
    for (const a of rest) send(a);
    const queued = await until(`${rest.length} answers queued`, async () => {
      const h = await health();
      return h.queued === rest.length && h.running === workers ? h : null;
    });
    assert.equal(queued.queued, rest.length, 'the poisoned answer waits in one queue with the others');
    batched = rest.length;
    await locks.release();
    locks = null;

    const replies = await Promise.all(sent.map((a) =>
      a.k.c.next((m) => m.id === a.id, 30000, `the reply to answer #${a.id} of ${a.k.who.ticket}`)));
    sent.forEach((a, i) => { a.reply = replies[i]; });
    for (const a of sent) {
      if (a.poison) continue;
      assert.equal(a.reply.type, 'ack', `${a.k.who.ticket} item ${a.item}: ${JSON.stringify(a.reply)}`);
      assert.equal(a.reply.item, a.item);
      assert.equal(a.reply.seq, a.seq);
    }
    const bad = sent.find((a) => a.poison);
    assert.equal(bad.reply.type, 'error', JSON.stringify(bad.reply));
    assert.equal(bad.reply.code, 'not_saved', JSON.stringify(bad.reply));
    assert.match(bad.reply.message, /could not be stored/);
    assert.equal(sent.filter((a) => a.reply.type !== 'ack').length, 1, 'only the poisoned answer is refused');

    // What the database holds: every acked answer with its seq, not the refused one.
    const rows = await sql(db, `SELECT a.ticket_no, n.item_id, n.seq, n.response FROM answer n
      JOIN attempt a ON a.id = n.attempt_id WHERE a.id IN (${cands.map((k) => k.attemptId).join(',')})`);
    const stored = new Map(rows.map(([t, item, seq, response]) => [`${t}/${item}`, { seq: Number(seq), response }]));
    for (const a of sent) {
      const got = stored.get(`${a.k.who.ticket}/${a.item}`);
      if (a.poison) {
        assert.equal(got, undefined, `the refused answer is not stored: ${JSON.stringify(got)}`);
      } else {
        assert.ok(got, `${a.k.who.ticket} item ${a.item} is stored`);
        assert.equal(got.seq, a.seq);
        if (typeof a.response === 'string' && a.item === a.k.items.short.item) assert.equal(got.response, a.response);
      }
    }
    assert.equal(rows.length, sent.length - 1);
    // last_seq only counts what was committed.
    const k = cands[POISONED];
    const [[lastSeq]] = await sql(db, `SELECT last_seq FROM attempt WHERE id = ${k.attemptId}`);
    assert.equal(Number(lastSeq), Math.max(...sent.filter((a) => a.k === k && !a.poison).map((a) => a.seq)));
  });

  test('the refusal is logged with the MariaDB error', { skip: !process.env.KC_SERVER_LOG && 'KC_SERVER_LOG not set' }, async () => {
    const bad = sent.find((a) => a.poison);
    const line = await until('the log line', () => readFileSync(process.env.KC_SERVER_LOG, 'utf8').split('\n')
      .find((l) => l.includes(`attempt=${bad.k.attemptId} item=${bad.item} seq=${bad.seq}: the answer could not be stored`)));
    assert.ok(line.includes(POISON_MESSAGE) && line.includes('(1644)'), `the trigger's error and its number: ${line}`);
    // The batch it came in was split, not failed.
    assert.ok(readFileSync(process.env.KC_SERVER_LOG, 'utf8').includes(`answers=${batched} not committed, committing them apart`),
      `a batch of ${batched} answers was committed apart`);
  });

  test('refused on its own too, and stored once the trigger is gone', async () => {
    const k = cands[POISONED];
    const again = await k.c.request({ type: 'answer', item: k.items.short.item, response: POISON, seq: ++k.seq });
    assert.equal(again.code, 'not_saved', JSON.stringify(again));
    await dropTrigger();
    const ok = await k.c.request({ type: 'answer', item: k.items.short.item, response: POISON, seq: ++k.seq });
    assert.equal(ok.type, 'ack', JSON.stringify(ok));
    const [[response, seq]] = await sql(db, `SELECT response, seq FROM answer WHERE attempt_id = ${k.attemptId}
      AND item_id = ${k.items.short.item}`);
    assert.equal(response, POISON);
    assert.equal(Number(seq), k.seq);
  });
});

// One batch holding several changes of the same items: the newest change of each item is
// applied (applied true), every older one is acked with applied false and the seq the
// server holds; each applied change is one row of answer_history; and the batch costs fewer
// round trips to the database than it has answers (/metrics answers_round_trips). Three
// candidates of a session of their own answer while the test holds their attempt rows (and a
// fourth one's, whose answers occupy the workers), so all their answers go to the database
// as one batch.
describe('a batch with several changes of one item', () => {
  const SESSION2 = `AC-${RUN}`;
  const crowd = [0, 1, 2, 3].map((i) => ({ ticket: `AC${RUN}${i}`, idno: idNumber(911 + i), name: `同批考生${i + 1}` }));
  const cands = [];            // {who, c, attemptId, items, seq}
  const sent = [];             // {k, item, response, seq, id, reply}
  let trips0 = 0, trips1 = 0, blockersSent = 0;

  before(async () => {
    await kc('session', 'create', '--code', SESSION2, '--title', '同批修改测试', '--paper', 'TYPES-P', '--duration', '30m');
    const csv = join(tmpdir(), `kc-batch2-${RUN}.csv`);
    writeFileSync(csv, `准考证号,身份证号,姓名\n${crowd.map((p) => `${p.ticket},${p.idno},${p.name}`).join('\n')}\n`);
    try { await kc('session', 'add-candidates', '--session', SESSION2, csv); } finally { unlinkSync(csv); }
    await kc('session', 'prepare', SESSION2);
  });

  test('four candidates log in and start', async () => {
    for (const who of crowd) {
      const c = await KcClient.connect(env.url);
      open.push(c);
      assert.equal((await c.request({ type: 'login', ticket: who.ticket, id_number: who.idno })).type, 'welcome');
      const p = await c.request({ type: 'start' }, 15000);
      assert.equal(p.type, 'paper', JSON.stringify(p).slice(0, 300));
      const byType = (t, pred = () => true) => p.paper.items.find((it) => it.type === t && pred(it));
      const items = {
        single: byType('single'), tf: byType('tf'), fill: byType('fill', (it) => it.blanks === 1),
        short: byType('short'),
      };
      const [[attemptId]] = await sql(db, `SELECT id FROM attempt WHERE ticket_no = '${who.ticket}'`);
      cands.push({ who, c, attemptId, items, seq: p.last_seq });
    }
  });

  test('the newest change of each item is applied, the older ones are not; one history row each', { timeout: 60000 }, async () => {
    const send = (k, item, response) => {
      const a = { k, item, response, seq: ++k.seq, id: k.c.nextId++ };
      k.c.send({ type: 'answer', id: a.id, item, response, seq: a.seq });
      sent.push(a);
      return a;
    };
    const [blocker, ...batch] = cands;
    trips0 = (await (await fetch(`${env.url}/metrics`)).json()).answers_round_trips;
    assert.ok(Number.isInteger(trips0), '/metrics answers_round_trips');
    locks = await holdLocks(db, `SELECT id FROM attempt WHERE id IN (${cands.map((k) => k.attemptId).join(',')}) FOR UPDATE`);
    // The blocker's answers, one at a time, until every worker waits for its lock.
    const { workers } = await health();
    const blockItems = Object.values(blocker.items);
    for (let n = 1; n <= workers; n++) {
      send(blocker, blockItems[n - 1].item, blockItems[n - 1].type === 'fill' ? ['阻塞'] : blockItems[n - 1].type === 'tf' ? 'T'
        : blockItems[n - 1].type === 'short' ? '阻塞' : blockItems[n - 1].options[0].key);
      await until(`answer worker ${n} to take its answer`, async () => {
        const h = await health();
        return h.queued === 0 && h.running === n;
      });
    }
    blockersSent = sent.length;
    // Five changes of each of four items per candidate, interleaved across the candidates.
    const changes = (k, round) => [
      [k.items.single.item, k.items.single.options[round % k.items.single.options.length].key],
      [k.items.tf.item, round % 2 ? 'T' : 'F'],
      [k.items.fill.item, [`第${round}次-${k.who.ticket}`]],
      [k.items.short.item, `简答第${round}次 ${k.who.ticket}`],
    ];
    for (let round = 0; round < 5; round++)
      for (const k of batch) for (const [item, response] of changes(k, round)) send(k, item, response);
    const queued = sent.length - blockersSent;
    await until(`${queued} answers queued`, async () => {
      const h = await health();
      return h.queued === queued && h.running === workers;
    });
    await locks.release();
    locks = null;
    const replies = await Promise.all(sent.map((a) =>
      a.k.c.next((m) => m.id === a.id, 30000, `the reply to answer #${a.id} of ${a.k.who.ticket}`)));
    sent.forEach((a, i) => { a.reply = replies[i]; });
    trips1 = (await (await fetch(`${env.url}/metrics`)).json()).answers_round_trips;

    // Per (candidate, item): the newest change applied, the older ones not, naming it.
    const newest = new Map();
    for (const a of sent) {
      const key = `${a.k.attemptId}/${a.item}`;
      if (!newest.has(key) || newest.get(key).seq < a.seq) newest.set(key, a);
    }
    for (const a of sent) {
      const top = newest.get(`${a.k.attemptId}/${a.item}`);
      assert.equal(a.reply.type, 'ack', `${a.k.who.ticket} item ${a.item} seq ${a.seq}: ${JSON.stringify(a.reply)}`);
      assert.equal(a.reply.seq, a.seq);
      assert.equal(a.reply.held_seq, top.seq, JSON.stringify(a.reply));
      assert.equal(a.reply.applied, a === top, `${a.k.who.ticket} seq ${a.seq}: ${JSON.stringify(a.reply)}`);
    }
    assert.equal(sent.filter((a) => a.reply.applied).length, newest.size);

    // The database holds the newest change of each item; the history has it once, and
    // nothing of the changes that were not applied.
    const ids = cands.map((k) => k.attemptId).join(',');
    const rows = await sql(db, `SELECT attempt_id, item_id, seq FROM answer WHERE attempt_id IN (${ids})`);
    assert.equal(rows.length, newest.size);
    for (const [aid, item, seq] of rows) assert.equal(Number(seq), newest.get(`${aid}/${item}`).seq);
    const hist = await sql(db, `SELECT attempt_id, item_id, seq, conn_id FROM answer_history
      WHERE attempt_id IN (${ids}) ORDER BY attempt_id, seq`);
    assert.deepEqual(hist.map(([aid, item, seq]) => `${aid}/${item}/${seq}`).sort(),
      [...newest.values()].map((a) => `${a.k.attemptId}/${a.item}/${a.seq}`).sort());
    for (const k of cands) {
      const conns = new Set(hist.filter(([aid]) => aid === String(k.attemptId)).map((r) => r[3]));
      assert.equal(conns.size, 1, `${k.who.ticket}'s changes name its one connection: ${[...conns]}`);
    }
    for (const k of cands) {
      const [[lastSeq]] = await sql(db, `SELECT last_seq FROM attempt WHERE id = ${k.attemptId}`);
      assert.equal(Number(lastSeq), k.seq, `${k.who.ticket}: last_seq is its newest seq`);
    }
  });

  test('fewer round trips to the database than answers', (t) => {
    const trips = trips1 - trips0;
    t.diagnostic(`${sent.length} answers (${blockersSent} alone, ${sent.length - blockersSent} in one batch): ${trips} round trips`);
    assert.ok(trips > 0, 'the counter moves');
    assert.ok(trips <= sent.length, `${trips} round trips for ${sent.length} answers`);
  });
});
