// MariaDB restarted under load: a node of the test's own serves 300 candidates (three
// loopback addresses) who answer every half second; the test stops the e2e MariaDB
// (deploy/mariadb-local stop), keeps the load on while it is down, and starts it again on
// the same data directory and port. Then:
//   - no client connection closed, and `time` was answered while the database was down;
//   - every answer got an ack or an error the protocol allows for it (busy, internal), and
//     an answer sent while the database was down was never acked before it was back;
//   - every acked answer is in the database (answer_history, with its response), and what
//     each item holds is at least as new as its newest ack;
//   - the server reconnected: every answer sent once the database was back is acked, a new
//     answer of every candidate too, and /healthz answers 200 (the shared e2e server's as well);
//   - the database came back with the data it had.
// The e2e MariaDB is shared: tests/run-e2e.sh runs this suite after the others, and the
// test starts the database again whatever happens.
//
//   cd tests && KC_URL=… KC_BIN=… KC_CONFIG=… KC_DB_DIR=<the e2e db dir> KC_DB_PORT=<its port> \
//     node --test durability/mariadb_restart.test.mjs
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { requireEnv, sessionWith } from '../lib/kc.mjs';
import { dbConf, sql } from '../lib/db.mjs';
import {
  KcNode, answerable, few, freePort, idNumberIn, kcCli, loginAndStart, pool, responseFor, sleep,
  storedResponse, until, workDir,
} from '../lib/nodes.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const DB_DIR = process.env.KC_DB_DIR, DB_PORT = process.env.KC_DB_PORT;
const db = dbConf(env.config);
const mariadbLocal = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'mariadb-local');
const RUN = Date.now().toString(36);
const SESSION = `DM-${RUN}`;
const N = 300;
const ADDRESSES = ['127.0.0.20', '127.0.0.21', '127.0.0.22'];
const ANSWER_EVERY_MS = 500;
const DOWN_FOR_MS = 4000;            // the load goes on this long with the database stopped
const people = Array.from({ length: N }, (_, i) => ({
  ticket: `DM${RUN}${String(i).padStart(3, '0')}`, idno: idNumberIn('970102', i), name: `断库考生${i + 1}`,
}));
const mariadb = (cmd) => promisify(execFile)(mariadbLocal, [cmd, '--dir', DB_DIR, '--port', DB_PORT], { timeout: 120000 });
const dbRunning = () => mariadb('status').then(() => true, () => false);
// What must come back as it was (counted before the stop, again after the start).
const SNAPSHOT = `SELECT (SELECT COUNT(*) FROM item), (SELECT COUNT(*) FROM exam_session), (SELECT COUNT(*) FROM attempt),
  (SELECT COUNT(*) FROM candidate), (SELECT COUNT(*) FROM schema_version), (SELECT COUNT(*) FROM paper_instance)`;

describe('MariaDB restarted under load', () => {
  const work = workDir('kc-dbrestart-');
  let node;
  const cands = [];            // {who, c, items, n, seq, sent: Map seq -> a}

  before(async () => {
    assert.ok(DB_DIR && DB_PORT, 'KC_DB_DIR and KC_DB_PORT name the e2e MariaDB (tests/run-e2e.sh sets them): this test stops and starts it');
    node = new KcNode(env, { name: `durable-db-${RUN}`, port: await freePort(), dir: work.dir });
    await sessionWith(kcCli(env), { code: SESSION, title: '数据库重启测试', paper: 'TYPES-P', duration: '2h' }, people);
    await node.start();
  });

  after(async () => {
    // Whatever happened, the shared database runs again for what comes after this suite.
    if (DB_DIR && DB_PORT && !(await dbRunning())) await mariadb('start');
    for (const k of cands) k.c.ws.terminate();
    await node?.stop();
    work.remove();
  });

  test('300 candidates log in and start', { timeout: 180000 }, async () => {
    const got = await pool(people, 50, (who, i) => loginAndStart(node.url, who, ADDRESSES[i % ADDRESSES.length]));
    got.forEach(({ c, paper }, i) => {
      cands.push({ who: people[i], c, items: answerable(paper), n: 0, seq: paper.last_seq, sent: new Map() });
    });
    assert.equal(cands.length, N);
  });

  test('stopped and started again: sockets stay open, nothing acked before its COMMIT, nothing acked lost, the server catches up',
    { timeout: 300000 }, async (t) => {
      assert.equal(cands.length, N, 'every candidate started');
      let sending = true;
      const send = (k) => {
        if (!sending || k.c.closeInfo) return;
        const it = k.items[k.n % k.items.length];
        const a = { item: it.item, response: responseFor(it, k.n), seq: ++k.seq, id: k.c.nextId++, sentAt: Date.now() };
        k.n++;
        k.sent.set(a.seq, a);
        k.c.send({ type: 'answer', id: a.id, item: a.item, response: a.response, seq: a.seq });
        k.c.next((m) => m.id === a.id, 240000, `the reply to answer seq ${a.seq}`)
          .then((m) => { a.reply = m; a.replyAt = Date.now(); }, (e) => { a.failure = e.message; });
      };
      for (const k of cands) {
        k.timer = setTimeout(function tick() {
          send(k);
          if (sending) k.timer = setTimeout(tick, ANSWER_EVERY_MS);
        }, Math.random() * ANSWER_EVERY_MS);
      }
      await sleep(2000);
      const snapshot = (await sql(db, SNAPSHOT))[0];

      const tStop = Date.now();
      await mariadb('stop');
      const tStopped = Date.now();
      assert.equal(await dbRunning(), false, 'the database is stopped');
      // The service thread never waits for the database: `time` is answered meanwhile.
      const probes = [];
      for (let s = 0; s < DOWN_FOR_MS; s += 1000) {
        const k = cands[(s / 1000) * 37 % N];
        const t0 = Date.now();
        const m = await k.c.request({ type: 'time' }, 10000);
        probes.push({ ms: Date.now() - t0, m });
        await sleep(Math.max(0, 1000 - (Date.now() - t0)));
      }
      const tStart = Date.now();
      await mariadb('start');
      const tStarted = Date.now();
      t.diagnostic(`database stopped in ${tStopped - tStop} ms, down ${tStart - tStopped} ms, started in ${tStarted - tStart} ms`);
      await sleep(3000);
      sending = false;
      for (const k of cands) clearTimeout(k.timer);
      const all = cands.flatMap((k) => [...k.sent.values()].map((a) => ({ k, a })));
      await until(`replies to all ${all.length} answers`, () => all.every(({ a }) => a.reply || a.failure), 180000, 100);

      const slowTime = probes.filter((p) => p.m.type !== 'time' || p.ms > 2000);
      assert.deepEqual(slowTime, [], `time while the database was down: ${few(slowTime)}`);
      const closed = cands.filter((k) => k.c.closeInfo).map((k) => `${k.who.ticket}: ${JSON.stringify(k.c.closeInfo)}`);
      assert.deepEqual(closed, [], `connections closed: ${few(closed)}`);
      const failed = all.filter(({ a }) => a.failure).map(({ k, a }) => `${k.who.ticket} seq ${a.seq}: ${a.failure}`);
      assert.deepEqual(failed, [], `answers without a reply: ${few(failed)}`);

      // An ack, or busy / internal (send it again); nothing else.
      const odd = all.filter(({ a }) => a.reply.type !== 'ack' && !(a.reply.type === 'error' && ['busy', 'internal'].includes(a.reply.code)))
        .map(({ k, a }) => `${k.who.ticket} seq ${a.seq}: ${JSON.stringify(a.reply)}`);
      assert.deepEqual(odd, [], `replies other than ack, busy or internal: ${few(odd)}`);
      const during = all.filter(({ a }) => a.sentAt > tStopped && a.sentAt < tStart);
      const early = during.filter(({ a }) => a.reply.type === 'ack' && a.replyAt < tStart)
        .map(({ k, a }) => `${k.who.ticket} seq ${a.seq} sent ${a.sentAt - tStopped} ms after the stop, acked ${a.replyAt - tStopped} ms after it`);
      assert.deepEqual(early, [], `acks while the database was down, before any COMMIT could be: ${few(early)}`);
      const errors = all.filter(({ a }) => a.reply.type !== 'ack');
      t.diagnostic(`${all.length} answers, ${during.length} of them sent while the database was down; ` +
        `${errors.length} got busy or internal, the rest acks`);
      // Once the database was back, the server took answers again.
      const afterBack = all.filter(({ a }) => a.sentAt > tStarted && a.reply.type !== 'ack')
        .map(({ k, a }) => `${k.who.ticket} seq ${a.seq}: ${JSON.stringify(a.reply)}`);
      assert.deepEqual(afterBack, [], `answers sent after the database was back and not acked: ${few(afterBack)}`);

      // Every acked answer is in the database; every item holds its newest acked change or
      // a newer one the client sent; the data is what it was before the stop.
      const where = `a.session_id = (SELECT id FROM exam_session WHERE code = '${SESSION}')`;
      const hist = new Map((await sql(db, `SELECT a.ticket_no, h.seq, h.item_id, HEX(h.response), h.node FROM answer_history h
        JOIN attempt a ON a.id = h.attempt_id WHERE ${where}`)).map(([tk, seq, item, hex, nodeId]) =>
        [`${tk}/${seq}`, { item: Number(item), response: Buffer.from(hex, 'hex').toString(), node: nodeId }]));
      const held = new Map((await sql(db, `SELECT a.ticket_no, n.item_id, n.seq, HEX(n.response) FROM answer n
        JOIN attempt a ON a.id = n.attempt_id WHERE ${where}`)).map(([tk, item, seq, hex]) =>
        [`${tk}/${item}`, { seq: Number(seq), response: Buffer.from(hex, 'hex').toString() }]));
      const lost = [];
      for (const { k, a } of all) {
        const key = `${k.who.ticket}/${a.item}`, h = held.get(key);
        if (h) {
          const was = k.sent.get(h.seq);
          if (!was || was.item !== a.item || storedResponse(was.response) !== h.response) lost.push(`${key} holds seq ${h.seq}, never sent so`);
        }
        if (a.reply.type !== 'ack') continue;
        const x = hist.get(`${k.who.ticket}/${a.seq}`);
        if (!x || x.item !== a.item || x.response !== storedResponse(a.response) || x.node !== node.name) {
          lost.push(`${k.who.ticket} seq ${a.seq} acked ${JSON.stringify(a.reply)}, history ${JSON.stringify(x)}`);
        }
        if (!h || h.seq < a.seq) lost.push(`${key} seq ${a.seq} acked, the item holds ${JSON.stringify(h)}`);
      }
      assert.deepEqual(lost, [], `acked answers and the database: ${few(lost)}`);
      assert.deepEqual((await sql(db, SNAPSHOT))[0], snapshot, 'items, sessions, attempts, candidates, migrations and papers as before the stop');
    });

  test('after the restart: a new answer of every candidate is acked, /healthz is 200 on this node and on the e2e server',
    { timeout: 120000 }, async () => {
      const replies = await Promise.all(cands.map((k) => {
        const it = k.items[k.n % k.items.length];
        return k.c.request({ type: 'answer', item: it.item, response: responseFor(it, k.n++), seq: ++k.seq }, 60000);
      }));
      const bad = replies.filter((r) => r.type !== 'ack' || !r.applied);
      assert.deepEqual(bad, [], `new answers: ${few(bad)}`);
      for (const url of [node.url, env.url]) {
        await until(`${url}/healthz to answer 200`, async () => {
          try { return (await fetch(`${url}/healthz`)).status === 200; } catch { return false; }
        }, 30000, 200);
      }
    });

  test('the node stops cleanly on SIGTERM, no sanitizer report', { timeout: 60000 }, async () => {
    for (const k of cands) k.c.ws.terminate();
    const e = await node.stop();
    assert.deepEqual(e, { code: 0, signal: null }, `exit of the node${node.tail()}`);
    assert.equal(node.sanitizerReport(), null, 'sanitizer report in the log');
  });
});
