// Login throttling across nodes (login_failure, 010): nodes A and B of the test's own on the
// one database, as behind a load balancer that spreads a guesser's connections over both.
//   - three wrong ID numbers through A and two through B, from one address: within a few
//     seconds both nodes hold that ticket back at that address (five in all), while the
//     candidate logs in from another address;
//   - four typos and then the right ID number on B: B's success reaches A too, so one more
//     typo on A does not hold the ticket back there (a success forgives, on every node);
//   - a node killed with -9 and started again still holds it back: its first look reaches
//     back a whole fail window.
//
//   cd tests && KC_URL=… KC_BIN=… KC_CONFIG=… node --test durability/throttle_nodes.test.mjs
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KcClient, requireEnv, sessionWith } from '../lib/kc.mjs';
import { KcNode, freePort, idNumberIn, kcCli, sleep, workDir } from '../lib/nodes.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const RUN = Date.now().toString(36);
const SESSION = `THN-${RUN}`;
const GUESSER = '127.0.0.44', OTHER = '127.0.0.45', TYPIST = '127.0.0.46';
const people = [0, 1].map((i) => ({ ticket: `THN${RUN}${i}`, idno: idNumberIn('970109', i), name: `多节点限流考生${i + 1}` }));
const who = people[0];

describe('login throttling across nodes', () => {
  const work = workDir('kc-throttle-nodes-');
  let A, B;
  const open = [];
  const connect = async (node, localAddress) => {
    const c = await KcClient.connect(node.url, 10000, { localAddress });
    open.push(c);
    return c;
  };
  const login = (c, idno) => c.request({ type: 'login', ticket: who.ticket, id_number: idno }, 15000);

  before(async () => {
    A = new KcNode(env, { name: `th-a-${RUN}`, port: await freePort(), dir: work.dir });
    B = new KcNode(env, { name: `th-b-${RUN}`, port: await freePort(), dir: work.dir });
    await sessionWith(kcCli(env), { code: SESSION, title: '多节点限流', paper: 'TYPES-P', duration: '30m' }, people);
    await Promise.all([A.start(), B.start()]);
  });

  after(async () => {
    for (const c of open) c.ws.terminate();
    await Promise.all([A, B].filter(Boolean).map((n) => n.stop()));
    work.remove();
  });

  test('failures on both nodes add up: both hold the ticket back at that address', { timeout: 60000 }, async () => {
    const onA = await connect(A, GUESSER), onB = await connect(B, GUESSER);
    for (let i = 0; i < 3; i++) {
      const r = await login(onA, idNumberIn('970109', 500 + i));
      assert.equal(r.code, 'bad_credentials', `A, guess ${i + 1}: ${JSON.stringify(r)}`);
    }
    for (let i = 3; i < 5; i++) {
      const r = await login(onB, idNumberIn('970109', 500 + i));
      assert.equal(r.code, 'bad_credentials', `B, guess ${i + 1}: ${JSON.stringify(r)}`);
    }
    // Shared every 2 s, looked at every second.
    await sleep(5000);
    for (const [name, node] of [['A', A], ['B', B]]) {
      const c = await connect(node, GUESSER);
      const r = await login(c, who.idno);
      assert.equal(r.code, 'throttled', `${name} after five failures over both nodes: ${JSON.stringify(r)}`);
    }
    const fine = await login(await connect(B, OTHER), who.idno);
    assert.equal(fine.type, 'welcome', `from another address: ${JSON.stringify(fine)}`);
  });

  test('a success on one node forgives the failures on the other', { timeout: 60000 }, async () => {
    const typist = people[1];
    const onB = await connect(B, TYPIST);
    for (let i = 0; i < 4; i++) {
      const r = await onB.request({ type: 'login', ticket: typist.ticket, id_number: idNumberIn('970109', 600 + i) }, 15000);
      assert.equal(r.code, 'bad_credentials', JSON.stringify(r));
    }
    const ok = await onB.request({ type: 'login', ticket: typist.ticket, id_number: typist.idno }, 15000);
    assert.equal(ok.type, 'welcome', JSON.stringify(ok));
    onB.ws.terminate();
    await sleep(5000);                      // the four failures and the success reach A
    const onA = await connect(A, TYPIST);
    const typo = await onA.request({ type: 'login', ticket: typist.ticket, id_number: idNumberIn('970109', 700) }, 15000);
    assert.equal(typo.code, 'bad_credentials', JSON.stringify(typo));
    // Without the success shared, A would count 4 + 1 and hold the ticket back now.
    await sleep(11000);                     // B lets go of the attempt (a login elsewhere is refused till then)
    const again = await onA.request({ type: 'login', ticket: typist.ticket, id_number: typist.idno }, 15000);
    assert.equal(again.type, 'welcome', `one typo after a success elsewhere: ${JSON.stringify(again)}`);
  });

  test('a node killed and started again still holds the ticket back', { timeout: 60000 }, async () => {
    await B.kill9();
    await B.start();
    await sleep(2500);                      // its first look at the shared failures
    const r = await login(await connect(B, GUESSER), who.idno);
    assert.equal(r.code, 'throttled', `after the restart: ${JSON.stringify(r)}`);
  });
});
