// One live connection per candidate across nodes (attempt.holder_node, 009): nodes A and B
// of the test's own on the one database, as behind a load balancer that sends a candidate's
// connections to either.
//   - logged in on A, a login on B is refused (already_connected, a second_login event
//     naming A), and A's connection keeps working;
//   - a resume on B (the same browser, its token, through the other node) takes the attempt
//     over: B serves it, A's connection is told (taken_over) and closed within seconds;
//   - while B holds it, a login on A is refused;
//   - once B's connection has gone, a login on A works (after the node's grace of 10 s);
//   - A killed with -9 while holding a candidate, and started again: what its earlier run
//     held is nobody's, so a login on B works at once;
//   - A stopped cleanly (SIGTERM) ends its lease: a login on B works at once.
//
//   cd tests && KC_URL=… KC_BIN=… KC_CONFIG=… node --test durability/one_connection_nodes.test.mjs
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KcClient, requireEnv, sessionWith } from '../lib/kc.mjs';
import { dbConf, sql } from '../lib/db.mjs';
import { KcNode, freePort, idNumberIn, kcCli, sleep, until, workDir } from '../lib/nodes.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const db = dbConf(env.config);
const RUN = Date.now().toString(36);
const SESSION = `OCN-${RUN}`;
const people = Array.from({ length: 3 }, (_, i) => ({
  ticket: `OCN${RUN}${i}`, idno: idNumberIn('970107', i), name: `多节点单连接考生${i + 1}`,
}));

describe('one live connection per candidate across nodes', () => {
  const work = workDir('kc-oneconn-');
  let A, B;
  const open = [];
  const connect = async (node) => {
    const c = await KcClient.connect(node.url, 10000, { localAddress: '127.0.0.40' });
    open.push(c);
    return c;
  };
  const login = (c, who) => c.request({ type: 'login', ticket: who.ticket, id_number: who.idno }, 15000);
  const events = async (who, kind) => sql(db, `SELECT e.detail FROM attempt_event e JOIN attempt a ON a.id = e.attempt_id
    WHERE a.ticket_no = '${who.ticket}' AND e.kind = '${kind}' ORDER BY e.id`);

  before(async () => {
    A = new KcNode(env, { name: `oc-a-${RUN}`, port: await freePort(), dir: work.dir });
    B = new KcNode(env, { name: `oc-b-${RUN}`, port: await freePort(), dir: work.dir });
    await sessionWith(kcCli(env), { code: SESSION, title: '多节点单连接', paper: 'TYPES-P', duration: '30m' }, people);
    await Promise.all([A.start(), B.start()]);
  });

  after(async () => {
    for (const c of open) c.ws.terminate();
    await Promise.all([A, B].filter(Boolean).map((n) => n.stop()));
    work.remove();
  });

  let onA, token;
  test('a login on the other node is refused while the first node holds the attempt', async () => {
    const who = people[0];
    onA = await connect(A);
    const w = await login(onA, who);
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    token = w.token;
    assert.equal((await onA.request({ type: 'start' }, 15000)).type, 'paper');
    const onB = await connect(B);
    const r = await login(onB, who);
    assert.equal(r.type, 'error', JSON.stringify(r));
    assert.equal(r.code, 'already_connected', JSON.stringify(r));
    assert.equal((await onA.request({ type: 'time' })).type, 'time', 'the first connection keeps working');
    const ev = await until('the second_login event', async () => (await events(who, 'second_login')).at(-1), 10000, 200);
    assert.match(ev[0], new RegExp(`node=${A.name}`), ev[0]);
  });

  let onB;
  test('a resume on the other node takes the attempt over and closes the first connection', async () => {
    onB = await connect(B);
    const w = await onB.request({ type: 'resume', token }, 15000);
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    const told = await onA.next((m) => m.type === 'error' && m.code === 'taken_over', 8000, 'taken_over on A');
    assert.equal(told.id, undefined);
    const closed = await Promise.race([onA.closed, sleep(5000).then(() => null)]);
    assert.ok(closed, 'A closes the connection it lost');
    assert.equal((await onB.request({ type: 'time' })).type, 'time', 'B serves the candidate');
    const [[holder]] = await sql(db, `SELECT holder_node FROM attempt WHERE ticket_no = '${people[0].ticket}'`);
    assert.equal(holder, B.name);
  });

  test('while the other node holds it, a login on the first is refused; after it lets go, it works', { timeout: 60000 }, async () => {
    const who = people[0];
    const c = await connect(A);
    const r = await login(c, who);
    assert.equal(r.code, 'already_connected', JSON.stringify(r));
    await onB.close();
    // B lets go in the database 10 s after the connection went (a reconnect within that
    // costs no write), checked every 2 s.
    const t0 = Date.now();
    await until('B to let go', async () => {
      const [[free]] = await sql(db, `SELECT holder_node IS NULL FROM attempt WHERE ticket_no = '${who.ticket}'`);
      return free === '1';
    }, 20000, 250);
    assert.ok(Date.now() - t0 >= 7000, `not before the grace (${Date.now() - t0} ms)`);
    const again = await login(c, who);
    assert.equal(again.type, 'welcome', JSON.stringify(again));
  });

  test('a node killed and started again holds nothing of its earlier run', { timeout: 60000 }, async () => {
    const who = people[1];
    const c = await connect(A);
    assert.equal((await login(c, who)).type, 'welcome');
    const [[holder]] = await sql(db, `SELECT holder_node FROM attempt WHERE ticket_no = '${who.ticket}'`);
    assert.equal(holder, A.name);
    const other = await connect(B);
    assert.equal((await login(other, who)).code, 'already_connected', 'held by A while A runs');
    await A.kill9();
    await A.start();
    // A's first lease after the start names its new run (within a second of starting).
    const r = await until('a login on B after A restarted', async () => {
      const c2 = await connect(B);
      const m = await login(c2, who);
      if (m.type === 'welcome') return m;
      c2.ws.terminate();
      assert.equal(m.code, 'already_connected', JSON.stringify(m));
      return null;
    }, 5000, 250);
    assert.equal(r.type, 'welcome');
  });

  test('a node stopped cleanly ends its lease: a login elsewhere works at once', { timeout: 60000 }, async () => {
    const who = people[2];
    const c = await connect(A);
    assert.equal((await login(c, who)).type, 'welcome');
    const other = await connect(B);
    assert.equal((await login(other, who)).code, 'already_connected', 'held by A while A runs');
    const e = await A.stop();
    assert.equal(e.code, 0, `A exits 0: ${JSON.stringify(e)}`);
    const t0 = Date.now();
    const m = await login(await connect(B), who);
    assert.equal(m.type, 'welcome', `right after A stopped (${Date.now() - t0} ms): ${JSON.stringify(m)}`);
  });
});
