// The staff pages in Debian's Chromium (playwright-core), against a server that
// tests/run-e2e.sh prepared (staff user chief = author + reviewer, tests/fixtures/).
// A draft item is made over the WebSocket; chief finds it through the filters, previews
// it, marks it reviewed and approves it, edits it (version 2); then uploads a CSV with an error (and reads the
// FILE:LINE line) and a good one. Any console error, page error or CSP violation fails.
//
//   cd tests && KC_URL=http://127.0.0.1:PORT node --test browser/author.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, tid, waitText } from '../lib/browser.mjs';
import { KcClient, requireEnv } from '../lib/kc.mjs';

const env = requireEnv('KC_URL');
const STAFF = { login: 'chief', password: 'chief-password-1' };
const UID = `BR-${Date.now().toString(36)}`;
const STEM = `浏览器审核题 ${UID}：HTTP 的默认端口是？`;

test('a reviewer finds, previews and approves an item, then imports CSV files', { timeout: 120000 }, async (t) => {
  // The draft to review, made by the same account over the WebSocket.
  const ws = await KcClient.connect(env.url);
  const w = await ws.request({ type: 'staff_login', ...STAFF });
  assert.equal(w.type, 'staff_welcome', JSON.stringify(w));
  const saved = await ws.request({
    type: 'bank_save',
    item: { uid: UID, type: 'single', stem: STEM, options: ['21', '80', '443'], answer: 'B', points: 1,
      point: 'WEB-01', difficulty: 2, explanation: '80 是 HTTP 的默认端口。' },
  });
  assert.equal(saved.type, 'bank_saved', JSON.stringify(saved));
  await ws.close();

  const { page, problems } = await openPage(t);

  // From the candidate login page to the staff login.
  await page.goto(`${env.url}/`);
  await page.locator(tid('staff-entry')).click();
  await page.waitForURL(/author\.html/);
  await page.locator(tid('staff-login')).fill(STAFF.login);
  await page.locator(tid('staff-password')).fill('wrong-password');
  await page.locator(tid('staff-login-submit')).click();
  await waitText(page, 'error', '账号或密码不正确');
  await page.locator(tid('staff-password')).fill(STAFF.password);
  await page.locator(tid('staff-login-submit')).click();
  await waitText(page, 'staff-roles', '审核员');
  await waitText(page, 'list-total', '共');

  // Filter: 鉴定点 + status + text; exactly our draft.
  await page.locator(tid('f-point')).fill('WEB-01');
  await page.locator(tid('f-status')).selectOption('draft');
  await page.locator(tid('f-q')).fill(UID);
  await page.locator(tid('f-search')).click();
  await waitText(page, 'list-total', '共 1 道试题');
  await waitText(page, 'results', UID);
  await page.locator(`${tid('results')} a`, { hasText: UID }).click();

  // The item page: the candidate's view, the key beside it.
  await waitText(page, 'item-uid', UID);
  await waitText(page, 'preview', 'HTTP 的默认端口是');
  assert.equal(await page.locator(`${tid('preview')} .iv-option`).count(), 3, 'three options in the preview');
  assert.equal(await page.locator(`${tid('preview')} input:disabled`).count(), 3, 'read-only preview');
  await waitText(page, 'item-answer', 'B');
  await waitText(page, 'item-explanation', '默认端口');
  await page.locator(tid('preview-answer')).check();
  await page.locator(`${tid('preview')} .iv-option[data-key="B"] input`).check();
  await waitText(page, 'preview-response', 'B');

  // Review, then approve; each step is in the history.
  await waitText(page, 'item-status', '草稿');
  await page.locator(tid('act-review')).click();
  await waitText(page, 'item-status', '已审核');
  await page.locator(tid('act-approve')).click();
  await waitText(page, 'item-status', '已批准');
  await waitText(page, 'reviews', '批准');
  await waitText(page, 'reviews', STAFF.login);
  assert.ok(await page.locator(tid('act-approve')).isHidden(), 'no approve button on an approved item');

  // Editing the approved item makes version 2, a draft; version 1 stays approved.
  await page.locator(tid('act-edit')).click();
  await page.locator(tid('e-explanation')).fill('HTTP 默认端口为 80，HTTPS 为 443。');
  await page.locator(tid('e-save')).click();
  await waitText(page, 'item-uid', `${UID} · v2`);
  await waitText(page, 'item-status', '草稿');
  await waitText(page, 'item-explanation', 'HTTPS 为 443');
  assert.equal(await page.locator(`${tid('versions')} tbody tr`).count(), 2, 'two versions');
  await waitText(page, 'versions', '已批准');

  // Import: a CSV with an error, checked only; the report names FILE:LINE: field.
  await page.locator(tid('nav-import')).click();
  const bad = `题型,题干,选项A,选项B,答案\n单选题,${UID} 一,甲,乙,A\n单选题,${UID} 二,甲,乙,C\n`;
  await page.locator(tid('import-file')).setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await page.locator(tid('import-submit')).click();
  await waitText(page, 'import-result', '发现 1 个问题');
  await waitText(page, 'import-diag', 'bad.csv:3: 答案:');

  // And a good one, imported for real.
  const good = `题型,题干,选项A,选项B,答案,鉴定点代码\n单选题,${UID} 导入题,甲,乙,B,WEB-02\n`;
  await page.locator(tid('import-file')).setInputFiles({ name: 'good.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await page.locator(tid('import-dry')).uncheck();
  await page.locator(tid('import-submit')).click();
  await waitText(page, 'import-result', '导入成功');
  await waitText(page, 'import-summary', '新增 1');
  assert.equal(await page.locator(`${tid('import-diag')} li`).count(), 0, 'no problems reported');

  // The imported item is in the bank now.
  await page.locator(tid('nav-bank')).click();
  await page.locator(tid('f-point')).fill('WEB-02');
  await page.locator(tid('f-status')).selectOption('');
  await page.locator(tid('f-q')).fill(UID);
  await page.locator(tid('f-search')).click();
  await waitText(page, 'list-total', '共 1 道试题');

  // English toggle.
  await page.locator(tid('lang-toggle')).click();
  await waitText(page, 'list-total', '1 item(s)');
  assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
});
