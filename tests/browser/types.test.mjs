// Every item type in the candidate's page (Debian's Chromium via playwright-core): session
// TYPES of tests/run-e2e.sh (tests/fixtures/types-paper.csv, 5 points an item). Candidate
// 2026120003 answers single and multiple choice, true/false, two fill-in items, a short
// answer and a case study, reloads (every answer must come back), and submits: 27.5.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, tid, waitText } from '../lib/browser.mjs';
import { candidates, requireEnv } from '../lib/kc.mjs';

const env = requireEnv('KC_URL');
const me = candidates(env.fixtures, 'candidates-types.csv').find((c) => c.ticket === '2026120003');
const SCREENSHOT = '/tmp/kaochang-types.png';

async function goTo(page, no) {
  await page.click(tid(`nav-${no}`));
  await waitText(page, 'item-no', `第 ${no} 题`);
}

test('candidate 2026120003 answers every item type in the browser', { timeout: 120000 }, async (t) => {
  assert.ok(me, 'fixture candidate 2026120003');
  const { page, problems } = await openPage(t);

  await page.goto(`${env.url}/`);
  await page.fill(tid('login-ticket'), me.ticket);
  await page.fill(tid('login-idno'), me.idno);
  await page.click(tid('login-submit'));
  await page.click(tid('start-exam'));
  await page.locator(tid('item-stem')).waitFor({ state: 'visible' });
  assert.equal(await page.locator('[data-testid^="nav-"]').count(), 7);

  // 1 single choice
  await page.click(tid('option-B'));
  await waitText(page, 'save-status', '已保存');
  // 2 multiple choice: two of the three right options (少选得半分)
  await goTo(page, 2);
  assert.equal(await page.locator(tid('option-input-A')).getAttribute('type'), 'checkbox');
  await page.click(tid('option-A'));
  await page.click(tid('option-C'));
  await waitText(page, 'save-status', '已保存');
  // 3 true/false
  await goTo(page, 3);
  assert.equal(await page.locator('[data-testid^="option-input-"]').count(), 2);
  await page.click(tid('option-F'));
  await waitText(page, 'save-status', '已保存');
  // 4 two blanks, 5 a pattern
  await goTo(page, 4);
  await page.fill(tid('blank-1'), 'TCP');
  await page.fill(tid('blank-2'), '443');
  await waitText(page, 'save-status', '已保存');
  await goTo(page, 5);
  await page.fill(tid('blank-1'), '192.168.1.10');
  // 6 short answer: moving on sends what was typed at once
  await goTo(page, 6);
  await page.fill(tid('text-answer'), '只授予完成工作所需的最小权限。');
  // 7 the case study, both sub-items right
  await goTo(page, 7);
  assert.match(await page.locator(tid('item-stem')).textContent(), /WebShell/);
  await page.click(tid('sub1-option-A'));
  await page.click(tid('sub2-option-F'));
  await waitText(page, 'save-status', '已保存');
  await waitText(page, 'answered-count', '7 / 7');
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.deepEqual(problems, [], 'no errors while answering');

  // ---- reload: every answer comes back from the server ----
  await page.reload();
  await page.locator(tid('item-stem')).waitFor({ state: 'visible' });
  await goTo(page, 2);
  assert.ok(await page.locator(tid('option-input-A')).isChecked());
  assert.ok(await page.locator(tid('option-input-C')).isChecked());
  assert.equal(await page.locator(tid('option-input-D')).isChecked(), false);
  await goTo(page, 3);
  assert.ok(await page.locator(tid('option-input-F')).isChecked());
  await goTo(page, 4);
  assert.equal(await page.inputValue(tid('blank-1')), 'TCP');
  assert.equal(await page.inputValue(tid('blank-2')), '443');
  await goTo(page, 5);
  assert.equal(await page.inputValue(tid('blank-1')), '192.168.1.10');
  await goTo(page, 6);
  assert.equal(await page.inputValue(tid('text-answer')), '只授予完成工作所需的最小权限。');
  await goTo(page, 7);
  assert.ok(await page.locator(tid('sub1-option-input-A')).isChecked());
  assert.ok(await page.locator(tid('sub2-option-input-F')).isChecked());
  await waitText(page, 'answered-count', '7 / 7');

  await page.click(tid('submit'));
  await page.click(tid('confirm-submit'));
  await page.locator(tid('final-score')).waitFor({ state: 'visible' });
  // 5 + 2.5 (half) + 5 + 5 + 5 + 0 (examiners score it) + 5
  assert.equal((await page.locator(tid('final-score')).textContent()).trim(), '27.5');
  assert.ok(await page.locator(tid('final-pending')).isVisible(), 'the short answer is still to be scored');
  assert.deepEqual(problems, [], 'no errors at the end');
});
