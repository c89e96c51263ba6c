// The staff editor in Debian's Chromium (playwright-core), against a server that
// tests/run-e2e.sh prepared (staff user chief = author + reviewer): an imported item of every
// type, opened in the editor and saved without a change, stays as it was (no edit, no version).
//
//   cd tests && KC_URL=http://127.0.0.1:PORT node --test browser/editor.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KcClient, requireEnv } from '../lib/kc.mjs';
import { launchChromium } from '../lib/browser.mjs';

const env = requireEnv('KC_URL');
const tid = (id) => `[data-testid="${id}"]`;
const STAFF = { login: 'chief', password: 'chief-password-1' };
const RUN = Date.now().toString(36);
const u = (s) => `ED-${s}-${RUN}`;

const ROWS = [
  '试题编号,题型,题干,选项A,选项B,选项C,答案,分值,难度,鉴定点代码,解析,出处,标签,命题人,多选计分,选项固定,所属题目,考核时间,设备要求,评分标准',
  `${u('S')},单选题,"<p>编辑 <b>单选</b> ${RUN}</p>",甲,乙,丙,B,1.5,2,ED-01,"解析<br>第二行",教材,协议;端口,命题员甲,,是,,,,`,
  `${u('M')},多选题,编辑多选 ${RUN} a < b & c,TCP,IP,UDP,AC,2,3,ED-01,,,传输层,,half,,,,,`,
  `${u('T')},判断题,编辑判断 ${RUN},,,,对,1,,,应当如此。,,,,,,,,,`,
  `${u('F')},填空题,编辑填空 ${RUN} ____ 与 ____,,,,TCP;传输控制协议|num:443,2,,,,,,,,,,,,`,
  `${u('Q')},简答题,编辑简答 ${RUN},,,,只授予所需的最小权限。,5,4,,,,,,,,,,,`,
  `${u('E')},论述题,编辑论述 ${RUN},,,,"要点一\n要点二",10,,,,,,,,,,,,`,
  `${u('C')},组合题,编辑组合 ${RUN},,,,,,3,ED-02,,,案例,,,,,,,`,
  `${u('CS')},单选题,编辑子题一 ${RUN},甲,乙,,A,1,2,ED-01,子题解析,,标签,,,是,${u('C')},,,`,
  `,判断题,编辑子题二 ${RUN},,,,错,2,,,,,,,,,${u('C')},,,`,
  `${u('P')},实操题,编辑实操 ${RUN},,,,,30,3,ED-03,,,实操,命题员乙,,,,45,每工位 PC 1 台,"20|规则正确\n10|验证连通\n否决|关闭防火墙"`,
];

test('an imported item of every type saved unchanged from the editor stays as it was', { timeout: 180000 }, async (t) => {
  const ws = await KcClient.connect(env.url);
  t.after(() => ws.ws.terminate());
  const w = await ws.request({ type: 'staff_login', ...STAFF });
  assert.equal(w.type, 'staff_welcome', JSON.stringify(w));
  const r = await fetch(`${env.url}/api/bank/import?format=csv&name=editor.csv`, {
    method: 'POST', body: `${ROWS.join('\n')}\n`, headers: { Authorization: `Bearer ${w.token}` },
  });
  const j = await r.json();
  assert.equal(j.ok, true, JSON.stringify(j));
  assert.equal(j.stored.new, 8, JSON.stringify(j));

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' })).newPage();
  page.setDefaultTimeout(15000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${env.url}/author.html`);
  await page.locator(tid('staff-login')).fill(STAFF.login);
  await page.locator(tid('staff-password')).fill(STAFF.password);
  await page.locator(tid('staff-login-submit')).click();
  await page.locator(tid('list-total')).waitFor();

  const changed = [];
  for (const s of ['S', 'M', 'T', 'F', 'Q', 'E', 'C', 'P']) {
    const uid = u(s);
    await page.goto(`${env.url}/author.html#/item/${encodeURIComponent(uid)}`);
    await page.locator(tid('item-uid')).filter({ hasText: uid }).waitFor();
    await page.locator(tid('act-edit')).click();
    await page.locator(tid('e-save')).click();
    // The app routes by hash (same document): wait for the hash itself, not for a "load"
    // lifecycle that a fragment navigation under load may leave pending in Playwright.
    await page.waitForFunction((h) => location.hash === h, `#/item/${encodeURIComponent(uid)}`);
    await page.locator(tid('item-uid')).filter({ hasText: uid }).waitFor();
    const m = await ws.request({ type: 'bank_item', uid });
    assert.equal(m.type, 'bank_item', JSON.stringify(m));
    if (m.reviews.some((x) => x.action === 'edit') || m.versions.length !== 1) changed.push(`${s} (${m.item.type})`);
  }
  assert.deepEqual(changed, [], 'saved unchanged from the editor, these were changed');
  assert.deepEqual(problems, []);
});
