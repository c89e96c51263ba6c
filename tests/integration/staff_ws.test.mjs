// Staff over a raw WebSocket and the HTTP import (docs/PROTOCOL.md, staff messages),
// against a server that tests/run-e2e.sh prepared: staff users author1 (author),
// reviewer1 (reviewer) and chief (author + reviewer); thin.csv imported and in paper THIN-P.
//
//   cd tests && KC_URL=http://127.0.0.1:PORT KC_BIN=../build/kaochang KC_CONFIG=… \
//     KC_FIXTURES=fixtures node --test integration/staff_ws.test.mjs
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KcClient, candidates, requireEnv, thinKeys } from '../lib/kc.mjs';

const env = requireEnv('KC_URL');
const cli = requireEnv('KC_BIN', 'KC_CONFIG');
const keys = thinKeys(env.fixtures);
const thin = candidates(env.fixtures, 'candidates.csv');
const AUTHOR = { login: 'author1', password: 'author-password-1' };
const REVIEWER = { login: 'reviewer1', password: 'reviewer-password-1' };
const RUN = Date.now().toString(36);

const open = [];
async function connect() {
  const c = await KcClient.connect(env.url);
  open.push(c);
  return c;
}
after(() => { for (const c of open) c.ws.terminate(); });

async function staff(who) {
  const c = await connect();
  const w = await c.request({ type: 'staff_login', ...who });
  assert.equal(w.type, 'staff_welcome', JSON.stringify(w));
  return { c, w };
}
function assertError(m, code, field) {
  assert.equal(m.type, 'error', `expected an error ${code}, got ${JSON.stringify(m)}`);
  assert.equal(m.code, code, JSON.stringify(m));
  if (field) assert.equal(m.field, field, JSON.stringify(m));
}
const draft = (uid, extra = {}) => ({
  uid, type: 'single', stem: `审核流程测试 ${uid}`, options: ['甲', '乙', '丙'], answer: 'C', points: 2,
  point: 'WS-01', difficulty: 3, ...extra,
});

describe('staff login', () => {
  test('a good password gives a staff token, name and roles', async () => {
    const { w } = await staff(REVIEWER);
    assert.equal(w.staff.login, 'reviewer1');
    assert.deepEqual(w.staff.roles, ['reviewer']);
    assert.match(w.token, /^s\d+\./);
    assert.ok(w.staff.name.length > 0);
  });

  test('a wrong password or an unknown login is refused the same way', async () => {
    const c = await connect();
    assertError(await c.request({ type: 'staff_login', login: 'reviewer1', password: 'not-it' }), 'bad_credentials');
    assertError(await c.request({ type: 'staff_login', login: 'nobody', password: 'not-it' }), 'bad_credentials');
    assertError(await c.request({ type: 'bank_list' }), 'unauthenticated');
  });

  test('staff_resume takes the token on a new connection; a forged one is refused', async () => {
    const { w } = await staff(AUTHOR);
    const c = await connect();
    const r = await c.request({ type: 'staff_resume', token: w.token });
    assert.equal(r.type, 'staff_welcome');
    assert.equal(r.staff.login, 'author1');
    const forged = w.token.replace(/^s(\d+)\.\d+/, (m, id) => `s${id}.1`);   // claim admin
    assertError(await (await connect()).request({ type: 'staff_resume', token: forged }), 'bad_token', 'token');
  });

  test('a candidate token is not a staff token', async () => {
    const c = await connect();
    const cw = await c.request({ type: 'login', ticket: thin[thin.length - 1].ticket, id_number: thin[thin.length - 1].idno });
    assert.equal(cw.type, 'welcome');
    assertError(await (await connect()).request({ type: 'staff_resume', token: cw.token }), 'bad_token');
    c.ws.close();          // the candidate signs out: a later test logs in as them (one live connection each)
    await c.closed;
  });

  test('ten failed staff logins close the connection; from the sixth on the login is throttled at that address', async () => {
    // From an address of its own: the lock of reviewer1 there must not stop the other tests.
    const c = await KcClient.connect(env.url, 5000, { localAddress: '127.0.0.2' });
    open.push(c);
    for (let i = 0; i < 10; i++) {
      const r = await c.request({ type: 'staff_login', login: 'reviewer1', password: `wrong-${i}` }, 15000);
      if (i < 5) assertError(r, 'bad_credentials');
      else {
        assertError(r, 'throttled');
        assert.equal(r.reason, 'login');
        assert.ok(r.retry_after_ms > 0, JSON.stringify(r));
      }
    }
    const closed = await Promise.race([c.closed, new Promise((r) => setTimeout(() => r(null), 30000))]);
    assert.ok(closed, 'the server closed the connection');
  });
});

describe('roles and connection kinds', () => {
  test('a candidate connection cannot send bank messages, nor staff_login', async () => {
    const c = await connect();
    const me = thin[thin.length - 1];
    assert.equal((await c.request({ type: 'login', ticket: me.ticket, id_number: me.idno })).type, 'welcome');
    for (const m of [{ type: 'bank_list' }, { type: 'bank_item', uid: 'T-001' }, { type: 'bank_catalog' },
      { type: 'staff_login', ...REVIEWER }]) {
      assertError(await c.request(m), 'forbidden');
    }
  });

  test('a staff connection cannot send candidate messages', async () => {
    const { c } = await staff(REVIEWER);
    assertError(await c.request({ type: 'start' }), 'forbidden');
    assertError(await c.request({ type: 'login', ticket: thin[0].ticket, id_number: thin[0].idno }), 'forbidden');
    assert.equal((await c.request({ type: 'time' })).type, 'time');
  });

  test('an author cannot approve; a reviewer cannot edit', async () => {
    const a = (await staff(AUTHOR)).c;
    const r = (await staff(REVIEWER)).c;
    assertError(await a.request({ type: 'bank_review', uid: 'T-001', action: 'approve' }), 'forbidden');
    assertError(await r.request({ type: 'bank_save', item: draft(`WS-X-${RUN}`) }), 'forbidden');
    assertError(await r.request({ type: 'bank_item', uid: `WS-X-${RUN}` }), 'not_found', 'uid');
  });
});

describe('browsing', () => {
  test('bank_list filters by 鉴定点, type, text and pages', async () => {
    const { c } = await staff(REVIEWER);
    const all = await c.request({ type: 'bank_list', filters: { type: 'single' } });
    assert.equal(all.type, 'bank_list');
    assert.ok(all.total >= 5, `at least the five fixture items: ${all.total}`);
    const byPoint = await c.request({ type: 'bank_list', filters: { point: 'A-01-002' } });
    assert.ok(byPoint.rows.some((r) => r.uid === 'T-002'));
    assert.ok(byPoint.rows.every((r) => r.point === 'A-01-002'), JSON.stringify(byPoint.rows));
    const everything = await c.request({ type: 'bank_list' });
    assert.ok(byPoint.total < everything.total, `the 鉴定点 filter narrows the list: ${byPoint.total} of ${everything.total}`);
    const one = await c.request({ type: 'bank_list', filters: { point: 'A-01-002', type: 'single', q: 'T-002' } });
    assert.deepEqual(one.rows.map((r) => r.uid), ['T-002']);
    assert.ok(one.rows[0].stem.includes('HTTPS'));
    const fills = await c.request({ type: 'bank_list', filters: { type: 'fill' } });
    assert.ok(fills.rows.every((r) => r.type === 'fill'));
    const q = await c.request({ type: 'bank_list', filters: { q: 'HTTPS 默认' } });
    assert.ok(q.rows.some((r) => r.uid === 'T-002'));
    assert.ok(q.rows.every((r) => r.stem.includes('HTTPS')));
    const page = await c.request({ type: 'bank_list', filters: { type: 'single' }, limit: 2, offset: 2 });
    assert.equal(page.rows.length, 2);
    assert.equal(page.total, all.total);
    assert.deepEqual(page.rows.map((r) => r.uid), all.rows.slice(2, 4).map((r) => r.uid));
    assertError(await c.request({ type: 'bank_list', filters: { colour: 'red' } }), 'bad_field', 'filters');
    assertError(await c.request({ type: 'bank_list', filters: { status: 'lost' } }), 'bad_field', 'filters');
    assertError(await c.request({ type: 'bank_list', limit: 100000 }), 'bad_field', 'limit');
  });

  test('bank_item shows staff the key, the explanation, versions and reviews', async () => {
    const { c } = await staff(REVIEWER);
    const m = await c.request({ type: 'bank_item', uid: 'T-002' });
    assert.equal(m.type, 'bank_item');
    const k = keys.get(m.item.stem.trim());
    assert.ok(k, 'the stem is the fixture stem');
    assert.equal(m.item.answer, k.key);
    assert.equal(m.item.explanation, 'HTTPS 默认端口 443。');
    assert.equal(m.item.options.length, 4);
    assert.ok(m.versions.length >= 1);
    assert.equal(m.versions[m.versions.length - 1].delivered, true, 'T-002 v1 is in paper THIN-P');
    assert.ok(Array.isArray(m.reviews));
  });

  test('bank_catalog names the types and statuses', async () => {
    const { c } = await staff(AUTHOR);
    const m = await c.request({ type: 'bank_catalog' });
    assert.equal(m.type, 'bank_catalog');
    assert.deepEqual(m.types.map((t) => t.name), ['single', 'multi', 'tf', 'fill', 'short', 'essay', 'composite', 'practical']);
    assert.deepEqual(m.statuses, ['draft', 'reviewed', 'approved', 'retired']);
  });
});

describe('review and edit', () => {
  test('draft -> reviewed -> sent back with a comment (recorded) -> reviewed -> approved', async () => {
    const a = (await staff(AUTHOR)).c;
    const r = (await staff(REVIEWER)).c;
    const uid = `WS-R-${RUN}`;
    const s = await a.request({ type: 'bank_save', item: draft(uid) });
    assert.equal(s.type, 'bank_saved', JSON.stringify(s));
    assert.equal(s.outcome, 'new_item');
    assert.equal(s.version, 1);
    assertError(await r.request({ type: 'bank_review', uid, action: 'approve' }), 'bad_transition', 'action');
    assert.equal((await r.request({ type: 'bank_review', uid, action: 'review' })).status, 'reviewed');
    assertError(await r.request({ type: 'bank_review', uid, action: 'return' }), 'bad_field', 'comment');
    const back = await r.request({ type: 'bank_review', uid, action: 'return', comment: '选项丙表述不清，请修改。' });
    assert.equal(back.type, 'bank_reviewed');
    assert.equal(back.status, 'draft');
    assert.equal((await r.request({ type: 'bank_review', uid, action: 'review' })).status, 'reviewed');
    assert.equal((await r.request({ type: 'bank_review', uid, action: 'approve' })).status, 'approved');
    const m = await r.request({ type: 'bank_item', uid });
    assert.equal(m.item.status, 'approved');
    assert.equal(m.item.status_by, 'reviewer1');
    const ret = m.reviews.find((x) => x.action === 'return');
    assert.ok(ret, JSON.stringify(m.reviews));
    assert.equal(ret.comment, '选项丙表述不清，请修改。');
    assert.equal(ret.actor, 'reviewer1');
    assert.equal(ret.from, 'reviewed');
    assert.equal(ret.to, 'draft');
    assert.deepEqual(m.reviews.map((x) => x.action), ['import', 'review', 'return', 'review', 'approve']);
    assertError(await r.request({ type: 'bank_review', uid, action: 'restore' }), 'bad_transition');
    assert.equal((await r.request({ type: 'bank_review', uid, action: 'retire' })).status, 'retired');
    assert.equal((await r.request({ type: 'bank_review', uid, action: 'restore' })).status, 'draft');
  });

  test('saving a draft nobody delivered changes it in place; unchanged is unchanged', async () => {
    const a = (await staff(AUTHOR)).c;
    const uid = `WS-D-${RUN}`;
    assert.equal((await a.request({ type: 'bank_save', item: draft(uid) })).outcome, 'new_item');
    assert.equal((await a.request({ type: 'bank_save', item: draft(uid) })).outcome, 'unchanged');
    const u = await a.request({ type: 'bank_save', item: draft(uid, { answer: 'B' }) });
    assert.equal(u.outcome, 'updated');
    assert.equal(u.version, 1);
    const m = await a.request({ type: 'bank_item', uid });
    assert.equal(m.item.answer, 'B');
    assert.equal(m.versions.length, 1);
  });

  test('saving a delivered item makes a new draft version; the old one stays', async () => {
    const a = (await staff(AUTHOR)).c;
    const r = (await staff(REVIEWER)).c;
    const uid = `WS-P-${RUN}`;
    assert.equal((await a.request({ type: 'bank_save', item: draft(uid) })).outcome, 'new_item');
    assert.equal((await r.request({ type: 'bank_review', uid, action: 'review' })).status, 'reviewed');
    assert.equal((await r.request({ type: 'bank_review', uid, action: 'approve' })).status, 'approved');
    // Deliver it: a paper holds version 1 now.
    await promisify(execFile)(cli.bin, ['paper', 'create', '--config', cli.config, '--code', `P-${RUN}`,
      '--title', '版本测试卷', '--items', uid], { timeout: 30000 });
    const before = await a.request({ type: 'bank_item', uid });
    assert.equal(before.versions[0].delivered, true);
    const s = await a.request({ type: 'bank_save', item: draft(uid, { explanation: `修订 ${RUN}` }) });
    assert.equal(s.type, 'bank_saved', JSON.stringify(s));
    assert.equal(s.outcome, 'new_version');
    assert.equal(s.version, 2);
    const m = await a.request({ type: 'bank_item', uid });
    assert.equal(m.item.version, 2);
    assert.equal(m.item.status, 'draft');
    assert.equal(m.item.explanation, `修订 ${RUN}`);
    assert.equal(m.item.created_by, 'author1');
    assert.deepEqual(m.versions.map((v) => [v.version, v.status, v.delivered]), [[2, 'draft', false], [1, 'approved', true]]);
    // The next save of the undelivered v2 changes it in place.
    assert.equal((await a.request({ type: 'bank_save', item: draft(uid, { explanation: `再修订 ${RUN}` }) })).outcome, 'updated');
    assert.equal((await a.request({ type: 'bank_item', uid })).versions.length, 2);
  });

  test('an imported item of every type, opened and saved back as it is, is unchanged', async () => {
    // Every type, with the fields an editor round-trips: rich text, tags, difficulty, pinned
    // options, policy, author, source, a sub-item with and one without an id, a rubric.
    const u = (s) => `RT-${s}-${RUN}`;
    const rows = [
      '试题编号,题型,题干,选项A,选项B,选项C,答案,分值,难度,鉴定点代码,解析,出处,标签,命题人,多选计分,选项固定,所属题目,考核时间,设备要求,评分标准',
      `${u('S')},单选题,"<p>往返 <b>单选</b> ${RUN}</p>",甲,乙,丙,B,1.5,2,RT-01,"解析<br>第二行",教材,协议;端口,命题员甲,,是,,,,`,
      `${u('M')},多选题,往返多选 ${RUN} a < b & c,TCP,IP,UDP,AC,2,3,RT-01,,,传输层,,half,,,,,`,
      `${u('T')},判断题,往返判断 ${RUN},,,,对,1,,,应当如此。,,,,,,,,,`,
      `${u('F')},填空题,往返填空 ${RUN} ____ 与 ____,,,,TCP;传输控制协议|num:443,2,,,,,,,,,,,,`,
      `${u('Q')},简答题,往返简答 ${RUN},,,,只授予所需的最小权限。,5,4,,,,,,,,,,,`,
      `${u('E')},论述题,往返论述 ${RUN},,,,"要点一\n要点二",10,,,,,,,,,,,,`,
      `${u('C')},组合题,往返组合 ${RUN},,,,,,3,RT-02,,,案例,,,,,,,`,
      `${u('CS')},单选题,往返子题一 ${RUN},甲,乙,,A,1,,RT-01,子题解析,,,,,,${u('C')},,,`,
      `,判断题,往返子题二 ${RUN},,,,错,2,,,,,,,,,${u('C')},,,`,
      `${u('P')},实操题,往返实操 ${RUN},,,,,30,3,RT-03,,,实操,命题员乙,,,,45,每工位 PC 1 台,"20|规则正确\n10|验证连通\n否决|关闭防火墙"`,
    ];
    const file = join(tmpdir(), `roundtrip-${RUN}.csv`);
    writeFileSync(file, `${rows.join('\n')}\n`);
    try {
      await promisify(execFile)(cli.bin, ['bank', 'import', '--config', cli.config, '--format', 'csv', '--by', 'e2e', file],
        { timeout: 30000 });
    } finally {
      unlinkSync(file);
    }
    // bank_item's shape into bank_save's: read-only fields out, the practical spec flattened.
    const editable = (it) => {
      const o = {};
      for (const k of ['uid', 'type', 'stem', 'options', 'answer', 'mc_policy', 'pin_options', 'points',
        'difficulty', 'point', 'explanation', 'source', 'occupation', 'level', 'author', 'tags']) {
        if (it[k] !== null && it[k] !== undefined) o[k] = it[k];
      }
      if (it.spec) Object.assign(o, it.spec);
      if (it.children && it.children.length) o.children = it.children.map(editable);
      return o;
    };
    const a = (await staff(AUTHOR)).c;
    for (const s of ['S', 'M', 'T', 'F', 'Q', 'E', 'C', 'P']) {
      const m = await a.request({ type: 'bank_item', uid: u(s) });
      assert.equal(m.type, 'bank_item', JSON.stringify(m));
      const saved = await a.request({ type: 'bank_save', item: editable(m.item) });
      assert.equal(saved.type, 'bank_saved', `${m.item.type}: ${JSON.stringify(saved)}`);
      assert.equal(saved.outcome, 'unchanged', `${m.item.type} ${u(s)}: ${JSON.stringify(editable(m.item))}`);
      assert.equal(saved.version, 1);
    }
  });

  test('an invalid item is refused with diag lines and nothing is saved', async () => {
    const a = (await staff(AUTHOR)).c;
    const uid = `WS-BAD-${RUN}`;
    const m = await a.request({ type: 'bank_save', item: draft(uid, { answer: 'F' }) });
    assertError(m, 'invalid');
    assert.ok(m.diag.length >= 1 && m.diag.every((l) => l.startsWith('item:')), JSON.stringify(m.diag));
    assertError(await a.request({ type: 'bank_save', item: { ...draft(uid), colour: 'red' } }), 'invalid');
    assertError(await a.request({ type: 'bank_item', uid }), 'not_found');
  });

  test('bank_health counts items per 鉴定点 of a blueprint, or says there is none', async () => {
    const a = (await staff(AUTHOR)).c;
    const h = await a.request({ type: 'bank_health', occupation: '9-99-99-99', level: 4 });
    assert.equal(h.type, 'bank_health');
    assert.equal(h.blueprint, false);
    assert.deepEqual(h.points, []);
    assertError(await a.request({ type: 'bank_health', occupation: '9-99-99-99', level: 4, part: 'both' }), 'bad_field', 'part');
  });
});

describe('POST /api/bank/import', () => {
  const post = (q, body, token) => fetch(`${env.url}/api/bank/import?${q}`, {
    method: 'POST', body, headers: token ? { Authorization: `Bearer ${token}` } : {},
  });

  test('needs a staff token of an author', async () => {
    let r = await post('format=csv&dry_run=1', 'x');
    assert.equal(r.status, 401);
    assert.equal((await r.json()).code, 'bad_token');
    const { w } = await staff(REVIEWER);
    r = await post('format=csv&dry_run=1', 'x', w.token);
    assert.equal(r.status, 403);
  });

  test('a dry run reports every problem as FILE:LINE: field: reason and writes nothing', async () => {
    const { w } = await staff(AUTHOR);
    const csv = `题型,题干,选项A,选项B,答案\n单选题,导入一 ${RUN},甲,乙,A\n单选题,导入二 ${RUN},甲,乙,C\n单选题,,甲,乙,A\n`;
    const r = await post('format=csv&dry_run=0&name=batch.csv', csv, w.token);
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.equal(j.ok, false);
    assert.equal(j.problems, j.diag.length);
    assert.ok(j.diag.some((l) => l.startsWith('batch.csv:3: 答案:')), JSON.stringify(j.diag));
    assert.ok(j.diag.some((l) => l.startsWith('batch.csv:4: 题干:')), JSON.stringify(j.diag));
    const { c } = await staff(AUTHOR);
    assert.equal((await c.request({ type: 'bank_list', filters: { q: `导入一 ${RUN}` } })).total, 0, 'nothing imported');
  });

  test('a good file is imported and then unchanged on a second upload', async () => {
    const { w } = await staff(AUTHOR);
    const csv = `题型,题干,选项A,选项B,答案,鉴定点代码\n单选题,导入好题 ${RUN},甲,乙,B,WS-02-${RUN}\n`;
    let j = await (await post('format=csv&dry_run=1', csv, w.token)).json();
    assert.equal(j.ok, true);
    assert.equal(j.stored.new, 0);
    j = await (await post('format=csv', csv, w.token)).json();
    assert.equal(j.ok, true, JSON.stringify(j));
    assert.equal(j.stored.new, 1);
    j = await (await post('format=csv', csv, w.token)).json();
    assert.equal(j.stored.unchanged, 1);
    const { c } = await staff(REVIEWER);
    assert.equal((await c.request({ type: 'bank_list', filters: { point: `WS-02-${RUN}` } })).total, 1);
    const bad = await post('format=nonsense', csv, w.token);
    assert.equal(bad.status, 400);
  });
});

describe('an account changed while signed in', () => {
  const login = `moved-${RUN}`;
  const pw = join(tmpdir(), `kc-pw-${RUN}`);
  const userAdd = (roles) => promisify(execFile)(cli.bin,
    ['user', 'add', '--config', cli.config, '--login', login, '--name', '临时命题员', '--roles', roles, '--password-file', pw],
    { timeout: 30000 });
  after(() => { try { unlinkSync(pw); } catch { /* gone */ } });

  test('loses a role at once on its open connection and for its import token', async () => {
    writeFileSync(pw, 'moved-password-1\n');
    await userAdd('author');
    const { c, w } = await staff({ login, password: 'moved-password-1' });
    const saved = await c.request({ type: 'bank_save', item: draft(`MV-${RUN}`) });
    assert.equal(saved.type, 'bank_saved', JSON.stringify(saved));
    await userAdd('reviewer');     // the author role is taken away
    assertError(await c.request({ type: 'bank_save', item: draft(`MV2-${RUN}`) }), 'forbidden');
    const list = await c.request({ type: 'bank_list', filters: {} });
    assert.equal(list.type, 'bank_list', 'reading stays allowed for a reviewer');
    const r = await fetch(`${env.url}/api/bank/import?format=csv&dry_run=1`, {
      method: 'POST', headers: { Authorization: `Bearer ${w.token}` },
      body: '题型,题干,选项A,选项B,答案\n单选题,一,甲,乙,A\n',
    });
    assert.equal(r.status, 403, 'the token still says author, the account no longer does');
  });
});
