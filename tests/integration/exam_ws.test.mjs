// The exam over a raw WebSocket (kaochang.v1, docs/PROTOCOL.md), against a server that
// tests/run-e2e.sh prepared: session THIN (30 min, show_score) with tests/fixtures/
// candidates.csv, session SHORT (4 s, show_score) with candidates-short.csv, both on the
// five items of thin.csv (20 points each).
//
//   cd tests && KC_URL=http://127.0.0.1:PORT KC_BIN=../build/kaochang KC_CONFIG=… \
//     KC_FIXTURES=fixtures node --test integration/
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { dbConf, sql } from '../lib/db.mjs';
import { KcClient, candidates, requireEnv, results, thinKeys } from '../lib/kc.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const keys = thinKeys(env.fixtures);
const thin = candidates(env.fixtures, 'candidates.csv');
const short = candidates(env.fixtures, 'candidates-short.csv');
const cand = (list, ticket) => {
  const c = list.find((x) => x.ticket === ticket);
  assert.ok(c, `fixture candidate ${ticket}`);
  return c;
};

const open = [];
async function connect() {
  const c = await KcClient.connect(env.url);
  open.push(c);
  return c;
}
after(() => { for (const c of open) c.ws.terminate(); });

function keyOf(item) {
  const k = keys.get(item.stem.trim());
  assert.ok(k, `the stem of item ${item.item} is in thin.csv: ${item.stem}`);
  return k.key;
}
function wrongOf(item) {
  const right = keyOf(item);
  return item.options.map((o) => o.key).find((k) => k !== right);
}
function assertError(m, code, field, id) {
  assert.equal(m.type, 'error', `expected an error ${code}, got ${JSON.stringify(m)}`);
  assert.equal(m.code, code, `error code (${JSON.stringify(m)})`);
  if (field === null) assert.equal(m.field, undefined, `no field expected (${JSON.stringify(m)})`);
  else if (field !== undefined) assert.equal(m.field, field, `error field (${JSON.stringify(m)})`);
  if (id !== undefined) assert.equal(m.id, id, `the error carries the request id (${JSON.stringify(m)})`);
  assert.equal(typeof m.message, 'string', 'error has a message');
}
async function assertAlive(c) {
  const m = await c.request({ type: 'time' });
  assert.equal(m.type, 'time', `the connection still answers: ${JSON.stringify(m)}`);
  assert.ok(Number.isInteger(m.server_time), 'time.server_time is an integer');
}
function assertPaperShape(p) {
  assert.equal(p.type, 'paper', JSON.stringify(p).slice(0, 300));
  assert.ok(Number.isInteger(p.server_time), 'paper.server_time');
  assert.ok(Number.isInteger(p.last_seq) && p.last_seq >= 0, 'paper.last_seq');
  assert.ok(Array.isArray(p.answers), 'paper.answers');
  assert.ok(Array.isArray(p.paper.items), 'paper.paper.items');
  for (const it of p.paper.items) {
    for (const f of ['answer', 'key', 'keys', 'explanation', '解析', '答案', 'rule', 'scoring']) {
      assert.equal(f in it, false, `item ${it.item} must not carry ${f}`);
    }
    assert.ok(Number.isInteger(it.item), 'item id');
    assert.ok(Array.isArray(it.options) && it.options.length >= 2, 'options');
  }
}

test('GET /healthz answers 200 with {"ok":true}', async () => {
  const res = await fetch(`${env.url}/healthz`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') || '', /json/);
  assert.deepEqual(await res.json(), { ok: true });
});

describe('malformed requests get an error and the connection survives', () => {
  let c;
  test('connect with subprotocol kaochang.v1', async () => { c = await connect(); });

  test('bad JSON -> bad_json', async () => {
    c.sendRaw('{"type":"time",');
    assertError(await c.next(), 'bad_json', null);
    await assertAlive(c);
  });

  test('a JSON value that is not an object -> bad_json', async () => {
    c.sendRaw('[1,2,3]');
    assertError(await c.next(), 'bad_json', null);
    await assertAlive(c);
  });

  test('unknown type -> unknown_type (field type)', async () => {
    assertError(await c.request({ type: 'frobnicate' }), 'unknown_type', 'type');
    await assertAlive(c);
  });

  test('missing type -> unknown_type', async () => {
    const m = await c.request({ ticket: '2026110001' });
    assertError(m, 'unknown_type', 'type');
    await assertAlive(c);
  });

  test('a field of the wrong type -> bad_field naming it', async () => {
    assertError(await c.request({ type: 'login', ticket: 2026110001, id_number: 'x' }), 'bad_field', 'ticket');
    assertError(await c.request({ type: 'answer', item: 1, response: 'A', seq: '5' }), 'bad_field', 'seq');
    assertError(await c.request({ type: 'answer', item: 1, response: 'A', seq: 0 }), 'bad_field', 'seq');
    assertError(await c.request({ type: 'login', ticket: '2026110001' }), 'bad_field', 'id_number');
    await assertAlive(c);
  });

  test('an unknown field -> bad_field naming it', async () => {
    assertError(await c.request({ type: 'time', colour: 'red' }), 'bad_field', 'colour');
    assertError(await c.request({ type: 'login', ticket: '2026110001', id_number: '110101199001011237', tiket: 'x' }),
      'bad_field', 'tiket');
    await assertAlive(c);
  });

  test('time works without a login (deadline null)', async () => {
    const m = await c.request({ type: 'time' });
    assert.equal(m.type, 'time');
    assert.equal(m.deadline, null);
  });

  test('answer / start / submit before login -> unauthenticated', async () => {
    assertError(await c.request({ type: 'answer', item: 1, response: 'A', seq: 1 }), 'unauthenticated');
    assertError(await c.request({ type: 'start' }), 'unauthenticated');
    assertError(await c.request({ type: 'submit' }), 'unauthenticated');
    await assertAlive(c);
  });

  test('wrong ID number or unknown ticket -> bad_credentials', async () => {
    const m = await c.request({ type: 'login', ticket: '2026110001', id_number: '110101199001011230' });
    assertError(m, 'bad_credentials', undefined, m.id);
    assertError(await c.request({ type: 'login', ticket: '2099999999', id_number: '110101199001011237' }), 'bad_credentials');
    assertError(await c.request({ type: 'answer', item: 1, response: 'A', seq: 1 }), 'unauthenticated');
    await assertAlive(c);
  });

  test('a bad resume token -> bad_token', async () => {
    assertError(await c.request({ type: 'resume', token: 'not-a-token' }), 'bad_token');
    await assertAlive(c);
  });

  test('the ID number is compared case-insensitively (x = X)', async () => {
    const li = cand(thin, '2026110002');
    assert.match(li.idno, /X$/, 'fixture 2026110002 ends in X');
    const w = await c.request({ type: 'login', ticket: li.ticket, id_number: li.idno.toLowerCase() });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    assert.equal(w.candidate.ticket, li.ticket);
    await c.close();
  });

  test('a message over 65536 bytes -> too_large, then the server closes', async () => {
    const big = await connect();
    big.send({ type: 'time', pad: 'x'.repeat(70000) });
    const m = await big.next(() => true, 5000, 'too_large');
    assertError(m, 'too_large');
    const closed = await Promise.race([big.closed, new Promise((r) => setTimeout(() => r(null), 5000))]);
    assert.ok(closed, 'the server closed the connection after too_large');
  });
});

describe('candidate 2026110001 takes THIN: answers, reconnect, replay, submit', () => {
  const me = cand(thin, '2026110001');
  let c, token, items, seq = 0;
  const sent = new Map();   // item -> {response, seq} last committed

  test('login -> welcome with token, candidate and session', async () => {
    c = await connect();
    const w = await c.request({ type: 'login', ticket: me.ticket, id_number: me.idno });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    assert.equal(typeof w.token, 'string');
    assert.ok(w.token.length > 0);
    token = w.token;
    assert.deepEqual(w.candidate, { name: me.name, ticket: me.ticket });
    assert.equal(w.session.code, 'THIN');
    assert.equal(w.session.duration_s, 1800);
    assert.equal(w.attempt.status, 'not_started');
    assert.equal(w.attempt.deadline, null);
    assert.ok(Number.isInteger(w.server_time));
  });

  test('answer before start -> not_started', async () => {
    assertError(await c.request({ type: 'answer', item: 1, response: 'A', seq: 1 }), 'not_started');
  });

  test('start -> paper of 5 items without keys, deadline about 30 min ahead', async () => {
    const p = await c.request({ type: 'start' });
    assertPaperShape(p);
    assert.equal(p.attempt.status, 'in_progress');
    const left = p.attempt.deadline - p.server_time;
    assert.ok(left > 1790e3 && left <= 1800e3, `deadline - server_time = ${left} ms`);
    items = p.paper.items;
    assert.equal(items.length, 5);
    assert.equal(p.paper.total_points, 100);
    assert.deepEqual(p.answers, []);
    seq = p.last_seq;
    for (const it of items) keyOf(it);
  });

  test('3 right and 1 wrong answers, each acked with its own item and seq', async () => {
    const plan = [
      [items[0], keyOf(items[0])],
      [items[1], keyOf(items[1])],
      [items[2], keyOf(items[2])],
      [items[3], wrongOf(items[3])],
    ];
    for (const [it, response] of plan) {
      seq += 1;
      const a = await c.request({ type: 'answer', item: it.item, response, seq });
      assert.equal(a.type, 'ack', JSON.stringify(a));
      assert.equal(a.item, it.item);
      assert.equal(a.seq, seq);
      sent.set(it.item, { response, seq });
    }
  });

  test('a changed answer gets a new seq and is acked; pipelined answers are all acked', async () => {
    // item 4: wrong -> right -> wrong again, sent without waiting; every ack names its seq.
    const it = items[3];
    const ids = [];
    const seqs = [];
    for (const response of [keyOf(it), wrongOf(it)]) {
      seq += 1;
      const id = c.nextId++;
      c.send({ type: 'answer', id, item: it.item, response, seq });
      ids.push(id);
      seqs.push(seq);
    }
    for (let i = 0; i < ids.length; i++) {
      const a = await c.next((m) => m.id === ids[i], 5000, `ack #${ids[i]}`);
      assert.equal(a.type, 'ack', JSON.stringify(a));
      assert.equal(a.item, it.item);
      assert.equal(a.seq, seqs[i]);
    }
    sent.set(it.item, { response: wrongOf(it), seq });
  });

  test('close, reconnect, resume with the token, start again -> same answers and last_seq', async () => {
    await c.close();
    c = await connect();
    const w = await c.request({ type: 'resume', token });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    assert.equal(w.candidate.ticket, me.ticket);
    assert.equal(w.attempt.status, 'in_progress');
    const p = await c.request({ type: 'start' });
    assertPaperShape(p);
    assert.equal(p.attempt.status, 'in_progress');
    assert.equal(p.last_seq, seq);
    const got = new Map(p.answers.map((a) => [a.item, { response: a.response, seq: a.seq }]));
    assert.deepEqual(got, sent);
  });

  test('a replayed old seq is acked but changes nothing', async () => {
    const it = items[0];
    const old = sent.get(it.item);
    const a = await c.request({ type: 'answer', item: it.item, response: wrongOf(it), seq: 1 });
    assert.equal(a.type, 'ack', JSON.stringify(a));
    assert.equal(a.item, it.item);
    assert.ok(a.seq === 1 || a.seq === old.seq, `ack seq ${a.seq}`);
    const p = await c.request({ type: 'start' });
    const now = p.answers.find((x) => x.item === it.item);
    assert.deepEqual({ response: now.response, seq: now.seq }, old);
    assert.equal(p.last_seq, seq);
  });

  test('an invalid response or unknown item -> bad_field naming it', async () => {
    seq += 1;
    assertError(await c.request({ type: 'answer', item: items[4].item, response: 'Z', seq }), 'bad_field', 'response');
    const unknown = Math.max(...items.map((i) => i.item)) + 1000;
    assertError(await c.request({ type: 'answer', item: unknown, response: 'A', seq: seq + 1 }), 'bad_field', 'item');
    await assertAlive(c);
    const p = await c.request({ type: 'start' });
    assert.equal(p.answers.some((x) => x.item === items[4].item), false, 'the bad answer was not stored');
  });

  test('submit -> submitted, reason candidate, score 60', async () => {
    const s = await c.request({ type: 'submit' });
    assert.equal(s.type, 'submitted', JSON.stringify(s));
    assert.equal(s.reason, 'candidate');
    assert.equal(s.score, 60);
    assert.ok(Number.isInteger(s.submitted_at));
    const again = await c.request({ type: 'submit' });
    assert.equal(again.type, 'submitted', 'submitting twice returns submitted again');
    assert.equal(again.score, 60);
    assert.equal(again.submitted_at, s.submitted_at);
  });

  test('after submit: answers are refused, the paper shows the result', async () => {
    seq += 2;
    assertError(await c.request({ type: 'answer', item: items[4].item, response: 'A', seq }), 'submitted');
    const p = await c.request({ type: 'start' });
    assertPaperShape(p);
    assert.equal(p.attempt.status, 'submitted');
    assert.equal(p.attempt.submit_reason, 'candidate');
    assert.equal(p.attempt.score, 60);
    assert.equal(p.paper.items.length, 5, 'items are still sent for review');
    await c.close();
  });

  test('kaochang results THIN shows 2026110001 submitted 60.00 by candidate', async () => {
    const r = (await results(env, 'THIN')).get(me.ticket);
    assert.ok(r, 'the candidate is in the results');
    assert.equal(r.name, me.name);
    assert.equal(r.status, 'submitted');
    assert.equal(r.score, '60.00');
    assert.equal(r.reason, 'candidate');
    assert.notEqual(r.submitted_at, '');
  });
});

describe('SHORT (4 s): the server submits at the deadline by itself', () => {
  const gone = cand(short, '2026119001');
  const stays = cand(short, '2026119002');

  test('one candidate leaves, the other stays connected; both are submitted at the deadline', { timeout: 60000 }, async () => {
    const a = await connect();
    const b = await connect();
    assert.equal((await a.request({ type: 'login', ticket: gone.ticket, id_number: gone.idno })).type, 'welcome');
    assert.equal((await b.request({ type: 'login', ticket: stays.ticket, id_number: stays.idno })).type, 'welcome');
    const pa = await a.request({ type: 'start' });
    const pb = await b.request({ type: 'start' });
    assertPaperShape(pa);
    assertPaperShape(pb);
    const left = pa.attempt.deadline - pa.server_time;
    assert.ok(left > 2000 && left <= 4000, `SHORT: deadline - server_time = ${left} ms`);

    // 2026119001 answers one item right, then closes the browser.
    const it = pa.paper.items[0];
    const ack = await a.request({ type: 'answer', item: it.item, response: keyOf(it), seq: pa.last_seq + 1 });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    await a.close();

    // 2026119002 stays and is told.
    const waitMs = pb.attempt.deadline - pb.server_time + 8000;
    const pushed = await b.next((m) => m.type === 'submitted', waitMs, 'the pushed submitted');
    assert.equal(pushed.reason, 'deadline');
    assert.equal(pushed.id, undefined, 'a push carries no id');
    assert.equal(pushed.score, 0, 'show_score: the push carries the score');
    const late = await b.request({ type: 'answer', item: it.item, response: keyOf(it), seq: pb.last_seq + 1 });
    assert.equal(late.type, 'error', JSON.stringify(late));
    assert.ok(['time_over', 'submitted'].includes(late.code), `late answer: ${late.code}`);
    await b.close();

    // The closed one is submitted and scored all the same (poll: the sweep runs every second).
    const until = Date.now() + 15000;
    let r;
    for (;;) {
      r = (await results(env, 'SHORT')).get(gone.ticket);
      if (r && r.status === 'submitted') break;
      if (Date.now() > until) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    assert.ok(r, `${gone.ticket} is in the results`);
    assert.equal(r.status, 'submitted', `${gone.ticket}: ${JSON.stringify(r)}`);
    assert.equal(r.reason, 'deadline');
    assert.equal(r.score, '20.00');
    const rb = (await results(env, 'SHORT')).get(stays.ticket);
    assert.equal(rb.status, 'submitted');
    assert.equal(rb.reason, 'deadline');
    assert.equal(rb.score, '0.00');
  });
});

// Acks say what the server holds (applied, held_seq); seq is checked against the attempt's
// last_seq; every applied change is a row of answer_history. A session of its own on THIN-P
// (made by run-e2e.sh), one candidate.
describe('acks say what the server holds; the answer history', () => {
  const db = dbConf(env.config);
  const RUN = Date.now().toString(36);
  const me = { ticket: `ACK${RUN}`, idno: '110101199005051236', name: '应答考生' };
  const kc = (...args) => promisify(execFile)(env.bin, ['--config', env.config, ...args], { timeout: 60000 });
  const AHEAD = 1000000;
  let c, items, attemptId, seq = 0;
  const applied = [];          // {item, seq, response}: every change the server applied

  const stored = async () => new Map((await sql(db, `SELECT item_id, seq, response FROM answer
    WHERE attempt_id = ${attemptId}`)).map(([item, s, r]) => [Number(item), { seq: Number(s), response: r }]));
  const history = async () => (await sql(db, `SELECT item_id, seq, response, node, conn_id FROM answer_history
    WHERE attempt_id = ${attemptId} ORDER BY seq`)).map(([item, s, r, node, conn]) =>
    ({ item: Number(item), seq: Number(s), response: r, node, conn: BigInt(conn) }));
  const lastSeq = async () => Number((await sql(db, `SELECT last_seq FROM attempt WHERE id = ${attemptId}`))[0][0]);
  function assertAck(a, item, sentSeq, isApplied, heldSeq) {
    assert.equal(a.type, 'ack', JSON.stringify(a));
    assert.equal(a.item, item, JSON.stringify(a));
    assert.equal(a.seq, sentSeq, JSON.stringify(a));
    assert.equal(a.applied, isApplied, JSON.stringify(a));
    assert.equal(a.held_seq, heldSeq, JSON.stringify(a));
  }

  before(async () => {
    await kc('session', 'create', '--code', `ACK-${RUN}`, '--title', '应答测试', '--paper', 'THIN-P', '--duration', '30m');
    const csv = join(tmpdir(), `kc-ack-${RUN}.csv`);
    writeFileSync(csv, `准考证号,身份证号,姓名\n${me.ticket},${me.idno},${me.name}\n`);
    try { await kc('session', 'add-candidates', '--session', `ACK-${RUN}`, csv); } finally { unlinkSync(csv); }
    await kc('session', 'prepare', `ACK-${RUN}`);
  });

  test('login and start', async () => {
    c = await connect();
    assert.equal((await c.request({ type: 'login', ticket: me.ticket, id_number: me.idno })).type, 'welcome');
    const p = await c.request({ type: 'start' });
    assertPaperShape(p);
    items = p.paper.items;
    seq = p.last_seq;
    [[attemptId]] = await sql(db, `SELECT id FROM attempt WHERE ticket_no = '${me.ticket}'`);
  });

  test('a new seq is applied: applied true, held_seq its own seq', async () => {
    const it = items[0];
    seq += 1;
    assertAck(await c.request({ type: 'answer', item: it.item, response: keyOf(it), seq }), it.item, seq, true, seq);
    applied.push({ item: it.item, seq, response: keyOf(it) });
    assert.deepEqual((await stored()).get(it.item), { seq, response: keyOf(it) });
  });

  test('an old seq sent after a newer one: applied false, held_seq the newer one, nothing changes', async () => {
    const it = items[1];
    const newer = seq + 2, older = seq + 1;
    seq = newer;
    assertAck(await c.request({ type: 'answer', item: it.item, response: keyOf(it), seq: newer }), it.item, newer, true, newer);
    applied.push({ item: it.item, seq: newer, response: keyOf(it) });
    assertAck(await c.request({ type: 'answer', item: it.item, response: wrongOf(it), seq: older }), it.item, older, false, newer);
    assert.deepEqual((await stored()).get(it.item), { seq: newer, response: keyOf(it) });
    assert.equal(await lastSeq(), newer);
  });

  test('a replay of what is held is applied (the ack was lost, not the change); the same seq with another response is not', async () => {
    const it = items[1];
    const held = applied.at(-1);
    assertAck(await c.request({ type: 'answer', item: it.item, response: held.response, seq: held.seq }), it.item, held.seq, true, held.seq);
    assertAck(await c.request({ type: 'answer', item: it.item, response: wrongOf(it), seq: held.seq }), it.item, held.seq, false, held.seq);
    assert.deepEqual((await stored()).get(it.item), { seq: held.seq, response: held.response });
  });

  test('a seq more than 1000000 beyond last_seq -> bad_seq naming seq, nothing stored', async () => {
    const it = items[2];
    const before0 = await stored();
    const hist0 = await history();
    for (const bad of [seq + AHEAD + 1, 2 ** 53 - 1]) {
      const m = await c.request({ type: 'answer', item: it.item, response: keyOf(it), seq: bad });
      assertError(m, 'bad_seq', 'seq');
      assert.match(m.message, new RegExp(`${bad}.*1000000.*${seq}`), m.message);
    }
    assert.deepEqual(await stored(), before0, 'no answer row written');
    assert.deepEqual(await history(), hist0, 'no history row written');
    assert.equal(await lastSeq(), seq, 'last_seq unchanged: the attempt goes on from it');
    seq += 1;
    assertAck(await c.request({ type: 'answer', item: it.item, response: wrongOf(it), seq }), it.item, seq, true, seq);
    applied.push({ item: it.item, seq, response: wrongOf(it) });
  });

  test('the largest jump allowed (last_seq + 1000000) is taken', async () => {
    const it = items[3];
    seq += AHEAD;
    assertAck(await c.request({ type: 'answer', item: it.item, response: keyOf(it), seq }), it.item, seq, true, seq);
    applied.push({ item: it.item, seq, response: keyOf(it) });
    assert.equal(await lastSeq(), seq);
  });

  test('answer_history has exactly the applied changes, in order, with the node and the connection', async () => {
    const h = await history();
    assert.deepEqual(h.map(({ item, seq: s, response }) => ({ item, seq: s, response })), applied);
    // The server's server.node_id as `kaochang config` gives it (by default hostname:port).
    const node = /^node_id = (.*)$/m.exec((await kc('config')).stdout)[1];
    for (const r of h) {
      assert.equal(r.node, node);
      assert.ok(r.conn > 0n, `conn_id ${r.conn}`);
      assert.equal(r.conn, h[0].conn, 'one connection sent them all');
    }
  });

  test('after a reconnect the paper holds the server\'s answers and last_seq', async () => {
    await c.close();
    c = await connect();
    assert.equal((await c.request({ type: 'login', ticket: me.ticket, id_number: me.idno })).type, 'welcome');
    const p = await c.request({ type: 'start' });
    assert.equal(p.last_seq, seq);
    const want = new Map();
    for (const a of applied) want.set(a.item, { seq: a.seq, response: a.response });
    assert.deepEqual(new Map(p.answers.map((a) => [a.item, { seq: a.seq, response: a.response }])), want);
    const h = await history();
    // A change on the new connection names the new connection.
    const it = items[4];
    seq += 1;
    assertAck(await c.request({ type: 'answer', item: it.item, response: keyOf(it), seq }), it.item, seq, true, seq);
    const last = (await history()).at(-1);
    assert.equal(last.seq, seq);
    assert.notEqual(last.conn, h[0].conn, 'another connection, another conn_id');
    await c.close();
  });
});
