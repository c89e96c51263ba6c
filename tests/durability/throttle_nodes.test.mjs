// Login throttling across nodes (login_failure, 010): nodes A and B of the test's own on the
// one database, as behind a load balancer that spreads a guesser's connections over both.
//   - three wrong ID numbers through A and two through B, from one address: within a few
//     seconds both nodes hold that ticket back at that address (five in all), while the
//     candidate logs in from another address;
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
const GUESSER = '127.0.0.44', OTHER = '127.0.0.45';
const who = { ticket: `THN${RUN}0`, idno: idNumberIn('970109', 0), name: '多节点限流考生' };

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
    await sessionWith(kcCli(env), { code: SESSION, title: '多节点限流', paper: 'TYPES-P', duration: '30m' }, [who]);
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

  test('a node killed and started again still holds the ticket back', { timeout: 60000 }, async () => {
    await B.kill9();
    await B.start();
    await sleep(2500);                      // its first look at the shared failures
    const r = await login(await connect(B, GUESSER), who.idno);
    assert.equal(r.code, 'throttled', `after the restart: ${JSON.stringify(r)}`);
  });
});
