// Two nodes on one database: nodes A and B of the test's own (own ports and node_id) serve
// one session of 8 seconds; 80 candidates start, half on each node, and answer the single
// choice item correctly; 60 stay connected until their deadline, 20 leave after starting.
// The shared e2e server sweeps the same database too, so three nodes race for every deadline.
//   - every connected candidate gets `submitted` (reason deadline) pushed by the node it is
//     connected to, within a few seconds of its deadline, naming the submission the
//     database holds;
//   - every attempt is submitted once: status submitted at its deadline, reason deadline,
//     scored (5 points for the correct answer); across the logs of every node no attempt is
//     "auto-submitted at deadline" twice, and each one whose candidate had left was
//     auto-submitted by exactly one sweep;
//   - both nodes go on serving: `time` and `heartbeat` answered on each, a candidate's `start`
//     shows the submission, a new login works on each.
//
//   cd tests && KC_URL=… KC_BIN=… KC_CONFIG=… [KC_SERVER_LOG=…] node --test durability/two_nodes.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { KcClient, requireEnv, sessionWith } from '../lib/kc.mjs';
import { dbConf, sql } from '../lib/db.mjs';
import { KcNode, few, freePort, idNumberIn, kcCli, loginAndStart, pool, until, workDir } from '../lib/nodes.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const db = dbConf(env.config);
const RUN = Date.now().toString(36);
const SESSION = `D2-${RUN}`;
const DURATION_S = 8;
const N = 80, LEAVING = 20;          // the last LEAVING candidates close their connection after starting
const ADDRESSES = ['127.0.0.30', '127.0.0.31'];
const people = Array.from({ length: N + 2 }, (_, i) => ({
  ticket: `D2${RUN}${String(i).padStart(3, '0')}`, idno: idNumberIn('970103', i), name: `双节点考生${i + 1}`,
}));
const AUTO = /auto-submitted at deadline attempt=(\d+)\b/g;

describe('two nodes on one database', () => {
  const work = workDir('kc-2nodes-');
  const nodes = [];
  const cands = [];            // {who, node, c, attemptId, deadline, leaving, pushed}

  before(async () => {
    for (const name of ['a', 'b']) {
      nodes.push(new KcNode(env, { name: `durable-${name}-${RUN}`, port: await freePort(), dir: work.dir }));
    }
    await sessionWith(kcCli(env), { code: SESSION, title: '双节点测试', paper: 'TYPES-P', duration: `${DURATION_S}s` }, people);
    await Promise.all(nodes.map((n) => n.start()));
  });

  after(async () => {
    for (const k of cands) k.c.ws.terminate();
    await Promise.all(nodes.map((n) => n.stop()));
    work.remove();
  });

  test('candidates start on both nodes and answer; some leave', { timeout: 120000 }, async () => {
    // Login, start, and at once the correct answer of the single-choice item (443, whatever
    // the order of its options), well before the deadline.
    const one = async (who, i) => {
      const { c, paper } = await loginAndStart(nodes[i % 2].url, who, ADDRESSES[i % 2]);
      assert.equal(paper.attempt.status, 'in_progress', `${who.ticket}: ${JSON.stringify(paper.attempt)}`);
      const single = paper.paper.items.find((it) => it.type === 'single' && it.options.some((o) => o.text.trim() === '443'));
      assert.ok(single, 'TYPES-P has the single-choice item TS-01 (443)');
      const key = single.options.find((o) => o.text.trim() === '443').key;
      const ack = await c.request({ type: 'answer', item: single.item, response: key, seq: paper.last_seq + 1 }, 15000);
      assert.equal(ack.type, 'ack', `${who.ticket}: ${JSON.stringify(ack)}`);
      return { c, paper, who, node: nodes[i % 2], leaving: i >= N - LEAVING, first: i < 2 };
    };
    // The first two alone, so that each is the first connection its node ever had.
    const got = [await one(people[0], 0), await one(people[1], 1),
      ...await pool(people.slice(2, N), 20, (who, i) => one(who, i + 2))];
    const ids = new Map((await sql(db, `SELECT ticket_no, id FROM attempt WHERE session_id =
      (SELECT id FROM exam_session WHERE code = '${SESSION}')`)).map(([tk, id]) => [tk, Number(id)]));
    for (const { c, paper, who, node, leaving, first } of got) {
      const k = { who, node, c, leaving, first, attemptId: ids.get(who.ticket), deadline: paper.attempt.deadline };
      k.pushed = c.next((m) => m.type === 'submitted' && m.id === undefined, (DURATION_S + 20) * 1000, 'the submitted push')
        .then((m) => ({ m, at: Date.now() }), (e) => ({ error: e.message }));
      cands.push(k);
    }
    for (const k of cands.filter((x) => x.leaving)) await k.c.close();
    assert.ok(cands.some((k) => k.node === nodes[0] && !k.leaving) && cands.some((k) => k.node === nodes[1] && !k.leaving),
      'candidates stay connected to both nodes');
  });

  // What happened at the deadlines, gathered once for the two tests below: the pushes the
  // connected candidates got, the attempts as stored once all are submitted (the candidates
  // who left are submitted by a sweep, on any node), and which node logged an auto-submission.
  let settled = null;
  const settle = () => settled ??= (async () => {
    assert.equal(cands.length, N, 'every candidate started');
    for (const k of cands) if (!k.leaving) k.push = await k.pushed;
    const last = Math.max(...cands.map((k) => k.deadline));
    const rowsOf = () => sql(db, `SET time_zone = '+00:00'; SELECT a.id, a.status, COALESCE(a.submit_reason, ''),
      COALESCE(ROUND(UNIX_TIMESTAMP(a.submitted_at) * 1000), 0), ROUND(UNIX_TIMESTAMP(a.deadline_at) * 1000),
      COALESCE(a.score_centi, -1) FROM attempt a WHERE a.session_id = (SELECT id FROM exam_session WHERE code = '${SESSION}')
      AND a.status <> 'not_started'`);
    let rows = [];
    await until('every attempt submitted', async () => {
      rows = await rowsOf();
      return rows.length === N && rows.every((x) => x[1] === 'submitted');
    }, Math.max(0, last - Date.now()) + 30000, 250).catch(() => { /* reported attempt by attempt */ });
    const byId = new Map(rows.map(([id, status, reason, at, deadline, score]) =>
      [Number(id), { status, reason, at: Number(at), deadline: Number(deadline), score: Number(score) }]));
    // Every node's log; the shared e2e server sweeps the same database.
    const logs = nodes.map((n) => [n.name, n.log()]);
    if (process.env.KC_SERVER_LOG) logs.push(['e2e server', readFileSync(process.env.KC_SERVER_LOG, 'utf8')]);
    const swept = new Map();
    for (const [name, text] of logs) {
      for (const [, id] of text.matchAll(AUTO)) {
        if (byId.has(Number(id))) swept.set(Number(id), [...(swept.get(Number(id)) || []), name]);
      }
    }
    const about = (k) => `${k.who.ticket} attempt=${k.attemptId} on ${k.node.name}${k.first ? ' (its first connection)' : ''}, ` +
      `deadline ${k.deadline}: stored ${JSON.stringify(byId.get(k.attemptId))}, auto-submitted by ${JSON.stringify(swept.get(k.attemptId) || [])}`;
    return { byId, logs, swept, about };
  })();

  test('every attempt is submitted once, at its deadline, and scored', { timeout: (DURATION_S + 120) * 1000 }, async (t) => {
    const { byId, logs, swept, about } = await settle();
    t.diagnostic(`auto-submitted by the sweeps: ${logs.map(([name]) => `${name} ${[...swept.values()].filter((v) => v[0] === name).length}`).join(', ')}`);
    const wrong = cands.filter((k) => {
      const r = byId.get(k.attemptId);
      return !r || r.status !== 'submitted' || r.reason !== 'deadline' || r.score !== 500 || r.deadline !== k.deadline || r.at !== k.deadline;
    }).map(about);
    assert.deepEqual(wrong, [], `attempts not submitted at their deadline with 5 points: ${few(wrong)}`);
    const twice = [...swept].filter(([, names]) => names.length > 1).map(([id, names]) => `attempt=${id}: ${names.join(', ')}`);
    assert.deepEqual(twice, [], `attempts auto-submitted more than once: ${few(twice)}`);
    if (process.env.KC_SERVER_LOG) {
      const unseen = cands.filter((k) => k.leaving && !swept.has(k.attemptId)).map(about);
      assert.deepEqual(unseen, [], `attempts of candidates who left, in no sweep's log line: ${few(unseen)}`);
    }
  });

  test('each connected candidate gets submitted (deadline) pushed by its node', { timeout: (DURATION_S + 120) * 1000 }, async (t) => {
    const { byId, about } = await settle();
    const staying = cands.filter((k) => !k.leaving);
    const pushes = [];
    for (const k of staying) {
      if (k.push.error) { pushes.push(`${about(k)}: no push (${k.push.error.slice(0, 100)})`); continue; }
      const { m, at } = k.push;
      // It names the one submission there is.
      if (m.reason !== 'deadline' || m.submitted_at !== byId.get(k.attemptId)?.at) pushes.push(`${about(k)}: pushed ${JSON.stringify(m)}`);
      if (at > k.deadline + 10000) pushes.push(`${about(k)}: pushed ${at - k.deadline} ms after its deadline`);
      if (at < k.deadline) pushes.push(`${about(k)}: pushed ${k.deadline - at} ms before its deadline`);
    }
    t.diagnostic(nodes.map((n) => `${staying.filter((k) => k.node === n && !k.push.error).length} of ` +
      `${staying.filter((k) => k.node === n).length} pushed on ${n.name}`).join(', '));
    // A server fault found by this test, named so that its failure says what it is: a node's
    // first connection (slot 0, generation 0) has the handle 0, which server/net/net_serve.c
    // also takes for "no connection" (on_deadline, handle_expire): that candidate is never pushed.
    const unpushed = staying.filter((k) => k.push.error);
    const hint = unpushed.length && unpushed.every((k) => k.first)
      ? ' (only candidates on their node\'s first connection, whose handle (slot 0 << 32 | generation 0) is 0: ' +
        'net_serve.c on_deadline and handle_expire take l->conn == 0 for "nobody connected here")' : '';
    assert.deepEqual(pushes, [], `submitted pushes${hint}: ${few(pushes)}`);
  });

  test('both nodes go on serving: time, heartbeat, start after the submission, a new login', { timeout: 60000 }, async () => {
    for (const [i, node] of nodes.entries()) {
      const k = cands.find((x) => x.node === node && !x.leaving);
      const tm = await k.c.request({ type: 'time' });
      assert.equal(tm.type, 'time', `${node.name}: ${JSON.stringify(tm)}`);
      assert.equal(tm.deadline, k.deadline, `${node.name}: time names the deadline`);
      const hb = await k.c.request({ type: 'heartbeat', events: [{ kind: 'focus', at: Date.now() }] });
      assert.equal(hb.type, 'time', `${node.name}: heartbeat: ${JSON.stringify(hb)}`);
      const p = await k.c.request({ type: 'start' }, 15000);
      assert.equal(p.attempt.status, 'submitted', `${node.name}: ${JSON.stringify(p.attempt)}`);
      assert.equal(p.attempt.submit_reason, 'deadline');
      // Someone new logs in on each node and starts.
      const { c, paper } = await loginAndStart(node.url, people[N + i], ADDRESSES[i]);
      cands.push({ who: people[N + i], c, node, leaving: true });
      assert.equal(paper.attempt.status, 'in_progress', `${node.name}: a new start: ${JSON.stringify(paper.attempt)}`);
      const fresh = await KcClient.connect(node.url);
      const t2 = await fresh.request({ type: 'time' });
      fresh.ws.terminate();
      assert.equal(t2.type, 'time', `${node.name}: time on a new connection`);
    }
  });

  test('both nodes stop cleanly on SIGTERM, no sanitizer report', { timeout: 60000 }, async () => {
    for (const k of cands) k.c.ws.terminate();
    for (const node of nodes) {
      const e = await node.stop();
      assert.deepEqual(e, { code: 0, signal: null }, `exit of ${node.name}${node.tail()}`);
      assert.equal(node.sanitizerReport(), null, `sanitizer report in the log of ${node.name}`);
    }
  });
});
