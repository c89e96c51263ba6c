// Item images in the candidate's page (Debian's Chromium through playwright-core), against
// session MEDIA that tests/run-e2e.sh prepared: paper MEDIA-P with MI-01 (images in the
// stem and in option B), MC-01 (an image in its sub-item), MX-01 (Moodle: an image and an
// attachment link), MQ-01 (a QTI package image). Candidate 2026130002 logs in through the
// UI; every image must actually load and decode (naturalWidth of the fixture's PNGs) under
// the strict CSP, with no console error, CSP violation or failed request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidates, requireEnv } from '../lib/kc.mjs';
import { launchChromium } from '../lib/browser.mjs';

const env = requireEnv('KC_URL');
const me = candidates(env.fixtures, 'candidates-media.csv').find((c) => c.ticket === '2026130002');
const tid = (id) => `[data-testid="${id}"]`;

// The widths of the loaded images in the current item, once all of them are complete.
async function imageWidths(page) {
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('.iv-stem img, .iv-text img')].filter((i) => i.offsetParent !== null);
    return imgs.length > 0 && imgs.every((i) => i.complete);
  }, null, { timeout: 10000 });
  return page.$$eval('.iv-stem img, .iv-text img', (imgs) => imgs.filter((i) => i.offsetParent !== null)
    .map((i) => ({ w: i.naturalWidth, h: i.naturalHeight, src: i.getAttribute('src') })));
}

test('candidate 2026130002 sees every item image in the browser', { timeout: 120000 }, async (t) => {
  assert.ok(me, 'fixture candidate 2026130002');
  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  const media = [];
  page.on('response', (r) => { if (new URL(r.url()).pathname.startsWith('/media/')) media.push(r.status()); });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });

  await page.goto(`${env.url}/`);
  await page.fill(tid('login-ticket'), me.ticket);
  await page.fill(tid('login-idno'), me.idno);
  await page.click(tid('login-submit'));
  await page.click(tid('start-exam'));
  await page.locator(tid('item-stem')).waitFor({ state: 'visible' });
  assert.equal(await page.locator('[data-testid^="nav-"]').count(), 4);

  // MI-01: the stem's 3×2 image and option B's 2×5 image
  const first = await imageWidths(page);
  assert.deepEqual(first.map((i) => [i.w, i.h]), [[3, 2], [2, 5]], JSON.stringify(first));
  for (const i of first) assert.match(i.src, /^\/media\/[0-9a-f]{64}\?e=\d+&s=[0-9a-f]{64}$/);
  // MC-01: its sub-item's 4×4 image
  await page.click(tid('nav-2'));
  assert.deepEqual((await imageWidths(page)).map((i) => [i.w, i.h]), [[4, 4]]);
  // MX-01 (Moodle): a 5×3 image and a link to the attachment
  await page.click(tid('nav-3'));
  assert.deepEqual((await imageWidths(page)).map((i) => [i.w, i.h]), [[5, 3]]);
  const href = await page.locator(`${tid('item-stem')} a`).getAttribute('href');
  assert.match(href, /^\/media\/[0-9a-f]{64}\?e=\d+&s=[0-9a-f]{64}$/);
  // MQ-01 (QTI package): a 3×3 image
  await page.click(tid('nav-4'));
  assert.deepEqual((await imageWidths(page)).map((i) => [i.w, i.h]), [[3, 3]]);

  assert.ok(media.length >= 5 && media.every((s) => s === 200), `media responses: ${media}`);
  assert.deepEqual(problems, [], 'no console errors, page errors, CSP violations or failed requests');
});

test('author1 sees the images in the staff preview and edits media:NAME, not a signed link', { timeout: 120000 }, async (t) => {
  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });

  await page.goto(`${env.url}/author.html`);
  await page.locator(tid('staff-login')).fill('author1');
  await page.locator(tid('staff-password')).fill('author-password-1');
  await page.locator(tid('staff-login-submit')).click();
  await page.locator(tid('list-total')).waitFor({ state: 'visible' });
  await page.evaluate(() => { location.hash = '#/item/MI-01'; });
  await page.locator(`${tid('preview')} img`).first().waitFor({ state: 'attached' });
  await page.waitForFunction((sel) => {
    const imgs = [...document.querySelectorAll(sel)];
    return imgs.length === 2 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, `${tid('preview')} img`, { timeout: 10000 });
  await page.evaluate(() => { location.hash = '#/edit/MI-01'; });
  const stem = page.locator(tid('e-stem'));
  await stem.waitFor({ state: 'visible' });
  const v = await stem.inputValue();
  assert.match(v, /src="media:image-[0-9a-f]{8}\.png"/, v);
  assert.doesNotMatch(v, /\/media\//);
  assert.deepEqual(problems, [], 'no console errors, page errors or failed requests');
});
