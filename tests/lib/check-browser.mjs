// node lib/check-browser.mjs: can playwright-core drive this machine's Chromium with the
// flags the browser tests use? One launch and one page; deploy/install-deps.sh --test runs it
// so that a Chromium / playwright-core / Node mismatch is named before any test starts.
import { createRequire } from 'node:module';
import { launchChromium } from './browser.mjs';

const pw = createRequire(import.meta.url)('playwright-core/package.json').version;
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.setContent('<p id="p">考场</p>');
  const text = await page.textContent('#p');
  if (text !== '考场') throw new Error(`the page shows "${text}", not "考场"`);
  console.error(`check-browser: Chromium ${browser.version()}, playwright-core ${pw}, Node ${process.versions.node}`);
} finally {
  await browser.close();
}
