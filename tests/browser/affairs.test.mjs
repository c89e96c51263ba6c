// The exam-affairs page (考务) in Debian's Chromium (playwright-core), against a server that
// tests/run-e2e.sh prepared: affairs1 (affairs), templates ASM-BP and ASM-BAD, session AFF-WEB
// (2 candidates, opens in 2 h, not prepared). affairs1 reads the templates and their
// feasibility reports, uploads an invalid and a valid template, makes the papers of AFF-WEB,
// verifies them and reads the report. Any console error, page error or CSP violation fails.
//
//   cd tests && KC_URL=http://127.0.0.1:PORT KC_FIXTURES=fixtures node --test browser/affairs.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openPage, tid, waitText } from '../lib/browser.mjs';
import { requireEnv } from '../lib/kc.mjs';

const env = requireEnv('KC_URL');
const STAFF = { login: 'affairs1', password: 'affairs-password-1' };
const CODE = `AFF-WEB-${Date.now().toString(36).toUpperCase()}`;

test('exam affairs: templates, an upload, and the papers of a session', { timeout: 120000 }, async (t) => {
  const { page, problems } = await openPage(t);
  await page.goto(`${env.url}/affairs.html`);
  await page.locator(tid('staff-login')).fill(STAFF.login);
  await page.locator(tid('staff-password')).fill(STAFF.password);
  await page.locator(tid('staff-login-submit')).click();
  await waitText(page, 'staff-roles', '考务');

  // The templates: feasible and not, with the sections and the last report.
  await waitText(page, 'templates', 'ASM-BP');
  await waitText(page, 'templates', '不可行');
  await page.locator(`${tid('templates')} tr[data-code="ASM-BP"]`).click();
  await waitText(page, 'tpl-title', 'ASM-BP');
  await waitText(page, 'tpl-facts', '按鉴定点组卷');
  await waitText(page, 'tpl-sections', '一、单项选择题');
  await waitText(page, 'tpl-verdict', '题库满足全部规则');
  await page.locator(`${tid('templates')} tr[data-code="ASM-BAD"]`).click();
  await waitText(page, 'tpl-report', 'short by');
  await page.locator(tid('tpl-check')).click();
  await waitText(page, 'tpl-verdict', '已对照当前题库（198 道已批准试题）重新检查');
  await waitText(page, 'tpl-report', '鉴定范围 B-01-01');

  // Upload: an invalid file, then a valid one.
  const tpl = JSON.parse(readFileSync(path.join(env.fixtures, 'asm-type.json'), 'utf8'));
  tpl.code = CODE;
  const bad = JSON.stringify({ ...tpl, total: 49 }, null, 2);
  await page.locator(tid('upload-file')).setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(bad) });
  await page.locator(tid('upload-submit')).click();
  await waitText(page, 'upload-result', '文件有误，未保存');
  await waitText(page, 'upload-diag', 'bad.json:');
  await page.locator(tid('upload-file')).setInputFiles({ name: 'web.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(tpl, null, 2)) });
  await page.locator(tid('upload-submit')).click();
  await waitText(page, 'upload-result', `方案 ${CODE}：按题型组卷，2 个大题，50 分；可行 已保存。`);
  await waitText(page, 'templates', CODE);
  await waitText(page, 'tpl-title', CODE);

  // Sessions: AFF-WEB has no papers until prepare is clicked.
  await page.locator(tid('nav-sessions')).click();
  await waitText(page, 'sessions', 'AFF-WEB');
  const row = page.locator(`${tid('sessions')} tr[data-code="AFF-WEB"]`);
  assert.equal((await row.locator('td').nth(7).textContent()).trim(), '0', 'no papers before prepare');
  await row.click();
  await waitText(page, 'ses-title', 'AFF-WEB');
  await page.locator(tid('ses-prepare')).click();
  await waitText(page, 'ses-result', '2 名考生：本次生成 2 份，此前已有 0 份');
  await page.waitForFunction((sel) => document.querySelector(sel)?.querySelectorAll('td')[7]?.textContent === '2',
    `${tid('sessions')} tr[data-code="AFF-WEB"]`);
  await page.locator(tid('ses-verify')).click();
  await waitText(page, 'ses-result', '2 份试卷按种子重新生成，全部一致');
  await page.locator(tid('ses-report-btn')).click();
  await waitText(page, 'ses-report', 'papers: 2 (a paper per candidate)');

  // English, and the link to the bank page.
  await page.locator(tid('lang-toggle')).click();
  await waitText(page, 'ses-prepare', 'Make the papers');
  assert.equal(await page.locator(tid('nav-author')).getAttribute('href'), '/author.html');
  assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
});
