// The candidate's page in Debian's Chromium (playwright-core), against a server that
// tests/run-e2e.sh prepared (session THIN, 30 min, show_score, tests/fixtures/).
// Candidate 2026110002 logs in through the UI, answers all five items (four right),
// reloads (the page must resume and show every answer, starting with the hash of the paper it
// kept, so the server sends no items again), submits and sees 80.
// Any console error, page error, CSP violation or failed request fails the test.
//
//   cd tests && KC_URL=http://127.0.0.1:PORT KC_FIXTURES=fixtures node --test browser/
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, tid, waitText } from '../lib/browser.mjs';
import { candidates, requireEnv, thinKeys } from '../lib/kc.mjs';

const env = requireEnv('KC_URL');
const keys = thinKeys(env.fixtures);
const me = candidates(env.fixtures, 'candidates.csv').find((c) => c.ticket === '2026110002');
const SCREENSHOT = '/tmp/kaochang-exam.png';
const text = async (page, testid) => ((await page.locator(tid(testid)).textContent()) || '').trim();

test('candidate 2026110002 takes THIN in the browser: login, answer, reload, submit', { timeout: 120000 }, async (t) => {
  assert.ok(me, 'fixture candidate 2026110002');
  // A fresh profile: new storage, nothing remembered.
  const { page, problems } = await openPage(t, { width: 1280, height: 860 });
  const noProblems = (where) => assert.deepEqual(problems, [], `no console errors, page errors or CSP violations (${where})`);
  // Every WebSocket frame the page sends and receives, parsed.
  const sent = [], received = [];
  const parse = (f) => { try { return JSON.parse(f.payload); } catch { return null; } };
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => sent.push(parse(f)));
    ws.on('framereceived', (f) => received.push(parse(f)));
  });

  // ---- login screen, Chinese first ----
  const res = await page.goto(`${env.url}/`);
  assert.equal(res.status(), 200);
  await page.locator(tid('login-heading')).waitFor({ state: 'visible' });
  assert.equal(await text(page, 'login-heading'), '考生登录');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');

  // English toggle, and back.
  await page.click(tid('lang-toggle'));
  assert.equal(await text(page, 'login-heading'), 'Candidate sign-in');
  await page.click(tid('lang-toggle'));
  assert.equal(await text(page, 'login-heading'), '考生登录');

  // Clear error messages.
  await page.click(tid('login-submit'));
  await waitText(page, 'error', '请输入准考证号');
  await page.fill(tid('login-ticket'), me.ticket);
  await page.fill(tid('login-idno'), '110101199001011230');
  await page.click(tid('login-submit'));
  await waitText(page, 'error', '准考证号或身份证号不正确');

  await page.fill(tid('login-idno'), me.idno);
  await page.click(tid('login-submit'));

  // ---- exam information ----
  await page.locator(tid('start-exam')).waitFor({ state: 'visible' });
  assert.equal(await text(page, 'info-name'), me.name);
  assert.equal(await text(page, 'info-ticket'), me.ticket);
  assert.match(await text(page, 'info-duration'), /30/);
  await page.click(tid('start-exam'));

  // ---- exam ----
  await page.locator(tid('item-stem')).waitFor({ state: 'visible' });
  const n = await page.locator('[data-testid^="nav-"]').count();
  assert.equal(n, 5, 'five items in the navigator');
  assert.match(await text(page, 'candidate-name'), new RegExp(me.name));

  const chosen = [];
  for (let i = 1; i <= n; i++) {
    await page.click(tid(`nav-${i}`));
    await waitText(page, 'item-no', `第 ${i} 题`);
    const stem = await text(page, 'item-stem');
    const k = keys.get(stem);
    assert.ok(k, `stem of item ${i} is in thin.csv: ${stem}`);
    let pick = k.key;
    if (i === 3) { // one wrong answer: 4 × 20 = 80
      const options = await page.locator('[data-testid^="option-input-"]').evaluateAll((els) => els.map((e) => e.value));
      pick = options.find((o) => o !== k.key);
    }
    await page.click(tid(`option-${pick}`));
    await waitText(page, 'save-status', '已保存');
    assert.ok(await page.locator(tid(`option-input-${pick}`)).isChecked());
    chosen.push({ stem, pick });
  }
  await waitText(page, 'answered-count', '5 / 5');
  // Change one answer and back: each change is saved.
  await page.click(tid('nav-1'));
  const other = chosen[0].pick === 'A' ? 'B' : 'A';
  await page.click(tid(`option-${other}`));
  await waitText(page, 'save-status', '已保存');
  await page.click(tid(`option-${chosen[0].pick}`));
  await waitText(page, 'save-status', '已保存');
  await page.click(tid('next'));
  await waitText(page, 'item-no', '第 2 题');
  await page.click(tid('prev'));
  await waitText(page, 'item-no', '第 1 题');
  await page.screenshot({ path: SCREENSHOT, fullPage: false });
  noProblems('while answering');

  // the first start had no paper to offer; its reply carried the paper and its hash
  const firstPaper = received.find((m) => m && m.type === 'paper');
  assert.match(firstPaper.paper.hash, /^[0-9a-f]{64}$/);
  assert.equal(sent.find((m) => m && m.type === 'start').paper_hash, undefined);

  // ---- reload: resumes without login, every answer still there ----
  const before = { sent: sent.length, received: received.length };
  await page.reload();
  await page.locator(tid('item-stem')).waitFor({ state: 'visible' });
  assert.equal(await page.locator(tid('screen-login')).isVisible(), false, 'no login after a reload');
  // the page kept the paper (sessionStorage): it sends its hash and gets no items again
  const start = sent.slice(before.sent).find((m) => m && m.type === 'start');
  assert.equal(start.paper_hash, firstPaper.paper.hash, 'start after the reload sends the hash of the paper held');
  const again = received.slice(before.received).find((m) => m && m.type === 'paper');
  assert.deepEqual(again.paper, { hash: firstPaper.paper.hash, unchanged: true });
  for (let i = 1; i <= n; i++) {
    await page.click(tid(`nav-${i}`));
    await waitText(page, 'item-no', `第 ${i} 题`);
    const stem = await text(page, 'item-stem');
    const want = chosen.find((c) => c.stem === stem);
    assert.ok(want, `item ${i} after reload has a known stem`);
    assert.ok(await page.locator(tid(`option-input-${want.pick}`)).isChecked(), `item ${i}: ${want.pick} still selected`);
    await waitText(page, 'save-status', '已保存');
  }
  const clock = await text(page, 'countdown');
  const mm = /^(\d{2}):(\d{2})$/.exec(clock);
  assert.ok(mm, `countdown shows mm:ss: "${clock}"`);
  const secs = Number(mm[1]) * 60 + Number(mm[2]);
  assert.ok(secs > 25 * 60 && secs <= 30 * 60, `countdown close to 30:00: ${clock}`);
  const red = await page.locator(tid('countdown')).evaluate((el) => el.classList.contains('urgent'));
  assert.equal(red, false, 'not red with more than 5 minutes left');

  // ---- submit through the confirm dialog ----
  await page.click(tid('submit'));
  await page.locator(tid('confirm-dialog')).waitFor({ state: 'visible' });
  assert.match(await text(page, 'confirm-unanswered'), /5/);
  await page.click(tid('cancel-submit'));
  await page.locator(tid('confirm-dialog')).waitFor({ state: 'hidden' });
  await page.click(tid('submit'));
  await page.click(tid('confirm-submit'));

  await page.locator(tid('final-score')).waitFor({ state: 'visible' });
  assert.equal(await text(page, 'final-status'), '已交卷');
  assert.equal(await text(page, 'final-score'), '80');
  assert.match(await text(page, 'final-reason'), /交卷/);

  // A reload after submitting shows the result again.
  await page.reload();
  await page.locator(tid('final-score')).waitFor({ state: 'visible' });
  assert.equal(await text(page, 'final-score'), '80');
  noProblems('at the end');
});
