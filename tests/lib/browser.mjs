// Shared pieces of the browser tests: Debian's Chromium through playwright-core with the
// flags this machine needs, and a page that records every problem a user would not see.
import { chromium } from 'playwright-core';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Debian's Chromium (or $KC_CHROMIUM), headless with the flags above. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.KC_CHROMIUM || '/usr/bin/chromium', headless: true, args: ARGS,
  });
}

export const tid = (id) => `[data-testid="${id}"]`;

/** Waits until the element's text contains `want` (playwright-core has no expect()). */
export async function waitText(page, testid, want, timeout = 10000) {
  try {
    await page.waitForFunction(([sel, w]) => {
      const e = document.querySelector(sel);
      return !!e && e.offsetParent !== null && e.textContent.includes(w);
    }, [tid(testid), want], { timeout });
  } catch (e) {
    const got = await page.locator(tid(testid)).first().textContent().catch(() => '(missing)');
    throw new Error(`${testid}: waited ${timeout} ms for "${want}", it shows "${got}"`, { cause: e });
  }
}

/**
 * A fresh browser profile (closed when test t ends) and its page. `problems` collects every
 * console error, page error, failed request, HTTP status >= 400 and CSP violation.
 */
export async function openPage(t, { width = 1280, height = 900 } = {}) {
  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });
  return { browser, context, page, problems };
}
