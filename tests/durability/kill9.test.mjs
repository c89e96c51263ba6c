// kill -9 under load: a node of the test's own serves 1,000 candidates of one session (from
// four loopback addresses); they log in, start and answer (an answer every half second, the
// items of the paper in an order of their own, then again with other responses, seq
// increasing). Right after one more answer of every candidate, the server is killed with
// SIGKILL and started again on the same port. Every client reconnects as a page does —
// resume with its token, then start — and:
//   - every one has its paper back within 10 s of the kill;
//   - the deadline is the one it had before (the server owns time: it is in the database),
//     and deadline − server_time is the time that is really left;
//   - every answer acked with applied:true before the kill is what the paper holds for its
//     item, or a newer change the client sent; the answer and answer_history tables agree;
//   - every answer that had no ack, sent again with its seq, is acked, and then the database
//     holds exactly the newest change of every item.
//
//   cd tests && KC_URL=… KC_BIN=…/build/asan/kaochang KC_CONFIG=… node --test durability/kill9.test.mjs
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KcClient, requireEnv, sessionWith } from '../lib/kc.mjs';
import { dbConf, sql } from '../lib/db.mjs';
import {
  KcNode, answerable, few, freePort, idNumberIn, kcCli, loginAndStart, pool, responseFor, sameResponse,
  shuffled, sleep, spread, storedResponse, until, workDir,
} from '../lib/nodes.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const db = dbConf(env.config);
const RUN = Date.now().toString(36);
const SESSION = `DK-${RUN}`;
const N = 1000;
const ADDRESSES = ['127.0.0.10', '127.0.0.11', '127.0.0.12', '127.0.0.13'];
const ANSWER_EVERY_MS = 500;
const ANSWER_FOR_MS = 3000;          // before the kill
const RESUME_LIMIT_MS = 10000;       // the bound, from the kill to the paper
const people = Array.from({ length: N }, (_, i) => ({
  ticket: `DK${RUN}${String(i).padStart(4, '0')}`, idno: idNumberIn('970101', i), name: `断电考生${i + 1}`,
}));

describe('kill -9 with 1,000 candidates answering', () => {
  const work = workDir('kc-kill9-');
  let node;
  const cands = [];            // {who, addr, c, token, deadline, attemptId, items, order, n, seq, sent: Map seq -> a}
  let tKill = 0;

  before(async () => {
    node = new KcNode(env, { name: `durable-kill9-${RUN}`, port: await freePort(), dir: work.dir });
    await sessionWith(kcCli(env), { code: SESSION, title: '断电恢复测试', paper: 'TYPES-P', duration: '2h' }, people);
    await node.start();
  });

  after(async () => {
    for (const k of cands) {
      k.c?.ws.terminate();
      k.back?.c.ws.terminate();
    }
    await node?.stop();
    work.remove();
  });

  test('1,000 candidates log in and start', { timeout: 300000 }, async (t) => {
    const t0 = Date.now();
    const got = await pool(people, 100, (who, i) => loginAndStart(node.url, who, ADDRESSES[i % ADDRESSES.length]));
    got.forEach(({ c, welcome, paper }, i) => {
      const items = answerable(paper);
      const order = shuffled(items.map((_, j) => j));
      cands.push({
        who: people[i], addr: ADDRESSES[i % ADDRESSES.length], c, token: welcome.token,
        deadline: paper.attempt.deadline, items, order, n: 0, seq: paper.last_seq, sent: new Map(),
      });
    });
    t.diagnostic(`${N} logins and starts in ${Date.now() - t0} ms`);
    const ids = new Map((await sql(db, `SELECT ticket_no, id FROM attempt WHERE session_id =
      (SELECT id FROM exam_session WHERE code = '${SESSION}')`)).map(([tk, id]) => [tk, Number(id)]));
    for (const k of cands) {
      k.attemptId = ids.get(k.who.ticket);
      assert.equal(k.c.closeInfo, null, `${k.who.ticket} is connected`);
      assert.ok(k.deadline > Date.now(), `${k.who.ticket} has a deadline ahead`);
      assert.ok(k.items.length >= 8, `TYPES-P has 8 answerable items, got ${k.items.length}`);
    }
  });

  test('killed mid-stream and restarted: every candidate back (resume + start) within 10 s of the kill',
    { timeout: 300000 }, async (t) => {
      assert.equal(cands.length, N, 'every candidate started');
      // Answers: the items in the candidate's own order, then again with other responses.
      let sending = true;
      const send = (k) => {
        if (!sending || k.c.closeInfo) return;
        const it = k.items[k.order[k.n % k.items.length]];
        const a = { item: it.item, response: responseFor(it, k.n), seq: ++k.seq, id: k.c.nextId++, sentAt: Date.now() };
        k.n++;
        k.sent.set(a.seq, a);
        k.c.send({ type: 'answer', id: a.id, item: a.item, response: a.response, seq: a.seq });
        k.c.next((m) => m.id === a.id, 120000, `the reply to answer seq ${a.seq}`)
          .then((m) => { a.reply = m; a.replyAt = Date.now(); }, () => { /* closed by the kill */ });
      };
      const timers = cands.map((k) => setTimeout(function tick() {
        send(k);
        if (sending) k.timer = setTimeout(tick, ANSWER_EVERY_MS);
      }, Math.random() * ANSWER_EVERY_MS));
      await sleep(ANSWER_FOR_MS);
      const acked = () => cands.reduce((s, k) => s + [...k.sent.values()].filter((a) => a.reply?.type === 'ack').length, 0);
      await until('an ack for most candidates', () => cands.filter((k) =>
        [...k.sent.values()].some((a) => a.reply?.type === 'ack')).length >= N * 0.9, 60000, 100);

      // kill -9 right after every candidate sent one more answer, so that the server dies
      // with answers read and not yet committed, committed and not yet acked, and still unread.
      cands.forEach(send);
      sending = false;
      timers.forEach(clearTimeout);
      cands.forEach((k) => clearTimeout(k.timer));
      await sleep(20);
      const sentBefore = cands.reduce((s, k) => s + k.sent.size, 0), ackedBefore = acked();
      tKill = Date.now();
      const killed = await node.kill9();
      assert.equal(killed.signal, 'SIGKILL', 'the server died of SIGKILL');
      await node.start({ wait: false });
      const tRestart = Date.now();
      t.diagnostic(`killed with ${sentBefore} answers sent, ${ackedBefore} acked; restarted ${tRestart - tKill} ms after the kill`);

      // Every client comes back as the page does after a reconnect — resume with its token,
      // then start — trying again every 100–250 ms while the server refuses connections.
      const comeBack = async (k) => {
        await Promise.race([k.c.closed, sleep(10000)]);
        assert.ok(k.c.closeInfo, `${k.who.ticket}: the connection to the killed server closed`);
        for (;;) {
          assert.ok(Date.now() - tKill < 120000, `${k.who.ticket}: not back 120 s after the kill`);
          let c;
          try {
            c = await KcClient.connect(node.url, 5000, { localAddress: k.addr });
          } catch {
            await sleep(100 + Math.random() * 150);      // refused while the server starts
            continue;
          }
          const w = await c.request({ type: 'resume', token: k.token }, 60000);
          if (w.type !== 'welcome') {
            c.ws.terminate();
            assert.ok(['throttled', 'busy'].includes(w.code), `${k.who.ticket}: resume: ${JSON.stringify(w)}`);
            await sleep(Math.min(w.retry_after_ms || 300, 2000));
            continue;
          }
          const p = await c.request({ type: 'start' }, 60000);
          const at = Date.now();
          k.back = { c, welcome: w, paper: p, ms: at - tKill, at };
          return;
        }
      };
      await Promise.all(cands.map(comeBack));
      const times = spread(cands.map((k) => k.back.ms));
      const first = Math.min(...cands.map((k) => k.back.ms));
      t.diagnostic(`back after the kill (ms): first ${first}, p50 ${times.p50}, p95 ${times.p95}, max ${times.max}`);

      const slow = cands.filter((k) => k.back.ms > RESUME_LIMIT_MS).map((k) => `${k.who.ticket} ${k.back.ms} ms`);
      assert.deepEqual(slow, [], `candidates back later than ${RESUME_LIMIT_MS} ms after the kill: ${few(slow)}`);
    });

  test('after the restart: the deadline each had, the time really left, every acked answer kept (paper, answer, answer_history)',
    { timeout: 120000 }, async (t) => {
      assert.ok(cands.length === N && cands.every((k) => k.back), 'every candidate is back');
      const wrong = [];
      for (const k of cands) {
        const { welcome: w, paper: p } = k.back;
        if (p.type !== 'paper') { wrong.push(`${k.who.ticket}: start: ${JSON.stringify(p).slice(0, 200)}`); continue; }
        if (w.attempt.status !== 'in_progress' || p.attempt.status !== 'in_progress') wrong.push(`${k.who.ticket}: status ${p.attempt.status}`);
        if (w.attempt.deadline !== k.deadline || p.attempt.deadline !== k.deadline) {
          wrong.push(`${k.who.ticket}: deadline ${p.attempt.deadline} (welcome ${w.attempt.deadline}), before the kill ${k.deadline}`);
        }
        // The server's clock is this machine's: what it says is left is what is left.
        const left = p.attempt.deadline - p.server_time;
        if (Math.abs(left - (k.deadline - k.back.at)) > 2000) wrong.push(`${k.who.ticket}: ${left} ms left says the server, ${k.deadline - k.back.at} ms by the deadline`);
      }
      assert.deepEqual(wrong, [], `resumed papers with the wrong attempt or time: ${few(wrong)}`);

      // Every acked answer is in the paper, or a newer change of its item that the client sent.
      const lost = [], strange = [];
      let unacked = 0, committedUnacked = 0;
      for (const k of cands) {
        const p = k.back.paper;
        const held = new Map(p.answers.map((x) => [x.item, x]));
        for (const x of p.answers) {
          const a = k.sent.get(x.seq);
          if (!a || a.item !== x.item || !sameResponse(a.response, x.response)) strange.push(`${k.who.ticket}: the paper holds ${JSON.stringify(x)}, never sent`);
          else if (a.reply?.type !== 'ack') committedUnacked++;
        }
        let maxAcked = 0;
        for (const a of k.sent.values()) {
          if (a.reply?.type !== 'ack') { unacked++; continue; }
          if (!a.reply.applied || a.reply.held_seq !== a.seq) strange.push(`${k.who.ticket}: ${JSON.stringify(a.reply)} for a new seq of one writer`);
          maxAcked = Math.max(maxAcked, a.seq);
          const x = held.get(a.item);
          if (!x || x.seq < a.seq) lost.push(`${k.who.ticket} item ${a.item} seq ${a.seq} acked, the paper has ${JSON.stringify(x)}`);
        }
        if (p.last_seq < maxAcked) lost.push(`${k.who.ticket}: last_seq ${p.last_seq} < acked seq ${maxAcked}`);
      }
      t.diagnostic(`${unacked} answers had no ack at the kill; ${committedUnacked} of them were committed`);
      assert.deepEqual(lost, [], `acked answers missing after the restart: ${few(lost)}`);
      assert.deepEqual(strange, [], few(strange));

      // The database says the same: the answer rows are the paper's, every acked change is in
      // the history, applied by this node.
      const where = `a.session_id = (SELECT id FROM exam_session WHERE code = '${SESSION}')`;
      const rows = await sql(db, `SELECT a.ticket_no, n.item_id, n.seq, HEX(n.response) FROM answer n
        JOIN attempt a ON a.id = n.attempt_id WHERE ${where}`);
      const inDb = new Map(rows.map(([tk, item, seq, hex]) => [`${tk}/${item}`, { seq: Number(seq), response: Buffer.from(hex, 'hex').toString() }]));
      const hist = new Map((await sql(db, `SELECT a.ticket_no, h.seq, h.item_id, HEX(h.response), h.node FROM answer_history h
        JOIN attempt a ON a.id = h.attempt_id WHERE ${where}`)).map(([tk, seq, item, hex, nodeId]) =>
        [`${tk}/${seq}`, { item: Number(item), response: Buffer.from(hex, 'hex').toString(), node: nodeId }]));
      const differ = [];
      let held = 0;
      for (const k of cands) {
        for (const x of k.back.paper.answers) {
          held++;
          const r = inDb.get(`${k.who.ticket}/${x.item}`);
          if (!r || r.seq !== x.seq || r.response !== storedResponse(x.response)) differ.push(`${k.who.ticket} item ${x.item}: paper ${JSON.stringify(x)}, table ${JSON.stringify(r)}`);
        }
        for (const a of k.sent.values()) {
          if (a.reply?.type !== 'ack') continue;
          const h = hist.get(`${k.who.ticket}/${a.seq}`);
          if (!h || h.item !== a.item || h.response !== storedResponse(a.response) || h.node !== node.name) {
            differ.push(`${k.who.ticket} seq ${a.seq} acked, history ${JSON.stringify(h)}`);
          }
        }
      }
      assert.equal(rows.length, held, 'the answer table has the rows the papers show');
      assert.deepEqual(differ, [], `database and acks disagree: ${few(differ)}`);
    });

  test('every answer without an ack, sent again, is acked; the database then holds the newest change of every item',
    { timeout: 180000 }, async (t) => {
      assert.ok(cands.every((k) => k.back?.paper?.type === 'paper'), 'every candidate is back');
      const again = [];
      for (const k of cands) {
        const c = k.back.c;
        for (const a of k.sent.values()) {
          if (a.reply?.type === 'ack') continue;
          const id = c.nextId++;
          c.send({ type: 'answer', id, item: a.item, response: a.response, seq: a.seq });
          again.push(c.next((m) => m.id === id, 120000, `the reply to seq ${a.seq} sent again`).then((m) => { a.reply = m; }));
        }
      }
      await Promise.all(again);
      t.diagnostic(`${again.length} answers sent again`);
      const bad = [], differ = [];
      const newest = new Map();       // ticket/item -> the sent change with the highest seq
      for (const k of cands) {
        for (const a of k.sent.values()) {
          const r = a.reply;
          // applied when the item holds it now, else not, naming the newer seq it holds
          if (r.type !== 'ack' || r.seq !== a.seq || (r.applied ? r.held_seq !== a.seq : !(r.held_seq > a.seq))) {
            bad.push(`${k.who.ticket} seq ${a.seq}: ${JSON.stringify(r)}`);
          }
          const key = `${k.who.ticket}/${a.item}`;
          if (!newest.has(key) || newest.get(key).seq < a.seq) newest.set(key, a);
        }
      }
      assert.deepEqual(bad, [], `answers sent again: ${few(bad)}`);
      const rows = await sql(db, `SELECT a.ticket_no, n.item_id, n.seq, HEX(n.response) FROM answer n
        JOIN attempt a ON a.id = n.attempt_id WHERE a.session_id = (SELECT id FROM exam_session WHERE code = '${SESSION}')`);
      const inDb = new Map(rows.map(([tk, item, seq, hex]) => [`${tk}/${item}`, { seq: Number(seq), response: Buffer.from(hex, 'hex').toString() }]));
      for (const [key, a] of newest) {
        const r = inDb.get(key);
        if (!r || r.seq !== a.seq || r.response !== storedResponse(a.response)) differ.push(`${key}: sent seq ${a.seq} ${JSON.stringify(a.response)}, table ${JSON.stringify(r)}`);
      }
      assert.equal(rows.length, newest.size, 'one answer row per item answered');
      assert.deepEqual(differ, [], `the newest change of each item: ${few(differ)}`);
      const last = new Map((await sql(db, `SELECT ticket_no, last_seq FROM attempt WHERE session_id =
        (SELECT id FROM exam_session WHERE code = '${SESSION}')`)).map(([tk, s]) => [tk, Number(s)]));
      const seqs = cands.filter((k) => last.get(k.who.ticket) !== k.seq).map((k) => `${k.who.ticket}: last_seq ${last.get(k.who.ticket)}, sent up to ${k.seq}`);
      assert.deepEqual(seqs, [], `attempt.last_seq is the newest seq sent: ${few(seqs)}`);
    });

  test('the restarted server stops cleanly on SIGTERM, no sanitizer report', { timeout: 60000 }, async () => {
    for (const k of cands) k.back?.c.ws.terminate();
    const e = await node.stop();
    assert.deepEqual(e, { code: 0, signal: null }, `exit of the restarted server${node.tail()}`);
    assert.equal(node.sanitizerReport(), null, 'sanitizer report in the log');
  });
});
