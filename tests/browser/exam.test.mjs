// The candidate's page in Debian's Chromium (playwright-core), against a server that
// tests/run-e2e.sh prepared (session THIN, 30 min, show_score, tests/fixtures/).
// Candidate 2026110002 logs in through the UI (the page fetches its paper sealed while the
// information screen shows, and the start opens it with the key), answers all five items (four right),
// reloads (the page must resume and show every answer, starting with the hash of the paper it
// kept, so the server sends no items again), submits and sees 80.
// Any console error, page error, CSP violation or failed request fails the test.
//
//   cd tests && KC_URL=http://127.0.0.1:PORT KC_FIXTURES=fixtures node --test browser/
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { openPage, tid, waitText } from '../lib/browser.mjs';
import { dbConf, sql } from '../lib/db.mjs';
import { KcClient, candidates, requireEnv, thinKeys } from '../lib/kc.mjs';

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
  const sent = [], received = [], binary = [];
  const parse = (f) => { try { return JSON.parse(f.payload); } catch { return null; } };
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => sent.push(parse(f)));
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string') received.push(parse(f));
      else binary.push(Buffer.from(f.payload));
    });
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
  // The paper came sealed while the candidate reads the information.
  for (let i = 0; i < 100 && !binary.length; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(binary.length, 1, 'one sealed paper before the start');
  assert.equal(binary[0].subarray(0, 4).toString(), 'KCP1');
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

  // the first start offered the sealed paper's hash; its reply carried the key, not the items
  const firstPaper = received.find((m) => m && m.type === 'paper');
  assert.match(firstPaper.paper.hash, /^[0-9a-f]{64}$/);
  const firstStart = sent.find((m) => m && m.type === 'start');
  assert.equal(firstStart.paper_hash, undefined);
  assert.equal(firstStart.sealed_hash, firstPaper.paper.hash);
  assert.equal(binary[0].subarray(4, 68).toString(), firstPaper.paper.hash);
  assert.equal(firstPaper.paper.sealed, true);
  assert.match(firstPaper.paper.key, /^[0-9a-f]{64}$/);
  assert.equal(firstPaper.paper.items, undefined, 'the items came sealed, before the start');

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

// Two windows of one candidate: the page answers item 1; another window (a duplicated tab:
// same token) resumes the attempt and takes it over — the page is told, stops and does not
// reconnect by itself — and changes the answer with a newer seq. "Continue in this window"
// takes it back: the page shows the server's answer as saved, not its own, and its next
// change continues beyond the server's last_seq and is stored.
test('a window taken over stops; taken back, the page shows the server\'s answer and its next change is saved', { timeout: 120000 }, async (t) => {
  const env2 = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
  const db = dbConf(env2.config);
  const RUN = Date.now().toString(36);
  const who = { ticket: `TAB${RUN}`, idno: '110101199006061233', name: '双窗考生' };
  const kc = (...args) => promisify(execFile)(env2.bin, ['--config', env2.config, ...args], { timeout: 60000 });
  await kc('session', 'create', '--code', `TAB-${RUN}`, '--title', '双窗口测试', '--paper', 'THIN-P', '--duration', '30m');
  const csv = join(tmpdir(), `kc-tab-${RUN}.csv`);
  writeFileSync(csv, `准考证号,身份证号,姓名\n${who.ticket},${who.idno},${who.name}\n`);
  try { await kc('session', 'add-candidates', '--session', `TAB-${RUN}`, csv); } finally { unlinkSync(csv); }
  await kc('session', 'prepare', `TAB-${RUN}`);

  const { page, problems } = await openPage(t, { width: 1280, height: 860 });
  await page.goto(`${env.url}/`);
  // The tab's seq counter is far ahead of the server (left by an old page): its first answer
  // gets bad_seq, and the page numbers it again from the paper's last_seq and saves it.
  await page.evaluate((k) => sessionStorage.setItem(k, String(2 ** 53 - 10)), `kc.seq.${who.ticket}`);
  await page.fill(tid('login-ticket'), who.ticket);
  await page.fill(tid('login-idno'), who.idno);
  await page.click(tid('login-submit'));
  await page.click(tid('start-exam'));
  await page.locator(tid('item-stem')).waitFor({ state: 'visible' });
  await page.click(tid('nav-1'));
  await waitText(page, 'item-no', '第 1 题');

  // A second login from elsewhere is refused while the page holds the attempt.
  const stranger = await KcClient.connect(env.url);
  t.after(() => stranger.ws.terminate());
  const refused = await stranger.request({ type: 'login', ticket: who.ticket, id_number: who.idno });
  assert.equal(refused.code, 'already_connected', JSON.stringify(refused));

  const [[attemptId]] = await sql(db, `SELECT id FROM attempt WHERE ticket_no = '${who.ticket}'`);
  const held = async (item) => {
    const rows = await sql(db, `SELECT response, seq FROM answer WHERE attempt_id = ${attemptId} AND item_id = ${item}`);
    return rows.length ? { response: rows[0][0], seq: Number(rows[0][1]) } : null;
  };

  // The page answers: saved, numbered again from last_seq.
  const token = await page.evaluate(() => sessionStorage.getItem('kc.token'));
  const other = await KcClient.connect(env.url);
  t.after(() => other.ws.terminate());
  // The page answers with the first letter shown (letters are always A, B, C, … as shown).
  const k0 = 'A';
  await page.click(tid(`option-${k0}`));
  await waitText(page, 'save-status', '已保存');

  // The other window resumes with the same token: it takes over, the page is told.
  const w = await other.request({ type: 'resume', token });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  await page.locator(tid('taken-over')).waitFor({ state: 'visible', timeout: 10000 });
  const p = await other.request({ type: 'start' });
  const first = p.paper.items.find((it) => it.no === 1);
  const [, k1, , k3] = first.options.map((o) => o.key);
  const mine = await held(first.item);
  assert.equal(mine.response, k0);
  assert.ok(mine.seq < 1000, `numbered again from last_seq: ${mine.seq}`);
  const ahead = mine.seq + 50;
  const a = await other.request({ type: 'answer', item: first.item, response: k1, seq: ahead });
  assert.equal(a.applied, true, JSON.stringify(a));
  // The page stays stopped: no reconnect of its own took the attempt back.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(other.closeInfo, null, 'the other window still holds the attempt');

  // Taken back: the other window is told, the page shows the server's answer, saved.
  await page.click(tid('take-back'));
  await other.next((m) => m.type === 'error' && m.code === 'taken_over', 10000, 'taken_over');
  await page.waitForFunction((sel) => document.querySelector(sel)?.checked, tid(`option-input-${k1}`), { timeout: 10000 });
  await waitText(page, 'save-status', '已保存');
  assert.equal(await page.locator(tid('taken-over')).isHidden(), true);

  // The page's next change continues beyond the server's last_seq and is stored.
  await page.click(tid(`option-${k3}`));
  await waitText(page, 'save-status', '已保存');
  const now = await held(first.item);
  assert.equal(now.response, k3, 'the next change of the page is stored');
  assert.ok(now.seq > ahead, `its seq ${now.seq} continues beyond ${ahead}`);
  const hist = await sql(db, `SELECT response FROM answer_history WHERE attempt_id = ${attemptId} AND item_id = ${first.item} ORDER BY seq`);
  assert.deepEqual(hist.map((r) => r[0]), [k0, k1, k3], 'the history has the applied changes only');
  assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
});
