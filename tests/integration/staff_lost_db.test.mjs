// staff_login when the worker's database connection is gone: the worker meets the lost
// connection on its first query, reconnects and runs the login again — with the password
// still there. (It used to be wiped before the second run, so the right password answered
// bad_credentials.) The test kills every connection of the server's database user, then logs
// in at once.
//
//   cd tests && KC_URL=http://127.0.0.1:PORT KC_CONFIG=… [KC_SERVER_LOG=…/server.log] \
//     node --test integration/staff_lost_db.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { KcClient, requireEnv } from '../lib/kc.mjs';
import { dbConf, killServerConnections } from '../lib/db.mjs';

const env = requireEnv('KC_URL', 'KC_CONFIG');
const db = dbConf(env.config);
const REVIEWER = { login: 'reviewer1', password: 'reviewer-password-1' };
const log = process.env.KC_SERVER_LOG;
const reconnects = () => (log ? readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('pool=staff reconnected')).length : 0);

const open = [];
after(() => { for (const c of open) c.ws.terminate(); });
async function connect() {
  const c = await KcClient.connect(env.url);
  open.push(c);
  return c;
}

test('staff_login right after the database connections were killed gives staff_welcome', { timeout: 60000 }, async () => {
  const c = await connect();
  const first = await c.request({ type: 'staff_login', ...REVIEWER }, 15000);
  assert.equal(first.type, 'staff_welcome', `before the kill: ${JSON.stringify(first)}`);
  // Every staff worker's connection is among these: the next staff job meets a dead one.
  for (let round = 1; round <= 2; round++) {
    const before = reconnects();
    const killed = await killServerConnections(db);
    assert.ok(killed.length >= 2, `the server's connections were killed: ${killed.join(',')}`);
    const d = await connect();
    const w = await d.request({ type: 'staff_login', ...REVIEWER }, 30000);
    assert.equal(w.type, 'staff_welcome', `round ${round}, after the kill: ${JSON.stringify(w)}`);
    assert.equal(w.staff.login, REVIEWER.login);
    assert.deepEqual(w.staff.roles, ['reviewer']);
    if (log) {
      // The login did meet the lost connection: its worker reconnected to answer it.
      assert.ok(reconnects() > before, 'the staff worker reconnected (the login met the killed connection)');
    }
    // The session works on: a staff message on the same connection.
    const list = await d.request({ type: 'bank_list', filters: {} }, 15000);
    assert.equal(list.type, 'bank_list', JSON.stringify(list).slice(0, 200));
  }
  // A wrong password is still refused after a kill (the retry does not skip the check).
  await killServerConnections(db);
  const e = await (await connect()).request({ type: 'staff_login', login: REVIEWER.login, password: 'not-it' }, 30000);
  assert.equal(e.type, 'error', JSON.stringify(e));
  assert.equal(e.code, 'bad_credentials', JSON.stringify(e));
});
