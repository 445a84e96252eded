// What the VS Code harnesses share: checks and their result file, polling, and the
// workbench as a user sees it (Problems panel, status bar, quick open, command palette).
// Required by vscode_e2e.js and vscode_restricted_e2e.js.
'use strict';
const fs = require('fs');
const path = require('path');

const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');

const RESULT_JSON = process.env.RESULT_JSON || 'vscode-e2e.json';
const BROWSER_HOME = process.env.BROWSER_HOME || fs.mkdtempSync('/tmp/vscode-e2e-browser-');

const t0 = Date.now();
const ms = () => Date.now() - t0;
const log = (...args) => console.log(`[${(ms() / 1000).toFixed(1)} s]`, ...args);

const checks = {};
function check(name, ok, detail) {
  checks[name] = { ok: Boolean(ok), ms: ms(), detail };
  log(ok ? 'ok  ' : 'FAIL', name, typeof detail === 'string' ? detail : JSON.stringify(detail));
  return ok;
}

/** Poll `probe` until `accept(value)` or `timeoutMs`; returns the last value either way. */
async function poll(page, probe, accept, timeoutMs, intervalMs = 100) {
  const end = Date.now() + timeoutMs;
  let value = await probe();
  while (!accept(value) && Date.now() < end) {
    await page.waitForTimeout(intervalMs);
    value = await probe();
  }
  return value;
}

const squash = (text) => text.replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim();

async function problemRows(page) {
  return page.$$eval('.markers-panel .monaco-list-row', (rows) =>
    rows.map((row) => (row.getAttribute('aria-label') || '') + ' || ' + row.innerText),
  ).then((rows) => rows.map(squash));
}

async function statusText(page) {
  return page.$$eval('.statusbar-item', (items) =>
    items.map((item) => item.innerText).filter((text) => /Tapps/.test(text)),
  ).then((texts) => texts.map(squash).join(' | '));
}

async function toasts(page) {
  return page.$$eval('.notifications-toasts .notification-toast', (items) => items.map((i) => i.innerText))
    .then((texts) => texts.map(squash));
}

async function openFile(page, name) {
  await page.keyboard.press('Control+P');
  const input = await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10000 });
  await input.fill(name);
  await page.waitForSelector(`.quick-input-list .monaco-list-row:has-text("${name}")`, { timeout: 15000 });
  await page.keyboard.press('Enter');
  await page.waitForSelector(`.tabs-container .tab.active:has-text("${name}")`, { timeout: 15000 });
  await page.waitForSelector('.editor-instance .view-lines', { timeout: 10000 });
}

async function runPaletteCommand(page, title, timeoutMs = 45000) {
  // The palette lists an extension's commands once the extension host has registered
  // its contributions: until then, close it and try again.
  const end = Date.now() + timeoutMs;
  for (;;) {
    await page.keyboard.press('F1');
    const input = await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10000 });
    await input.fill(`>${title}`);
    try {
      await page.waitForSelector(`.quick-input-list .monaco-list-row:has-text("${title}")`, { timeout: 3000 });
      await page.keyboard.press('Enter');
      return;
    } catch (error) {
      await page.keyboard.press('Escape');
      if (Date.now() > end) throw error;
    }
  }
}

async function togglePanelMaximized(page) {
  await runPaletteCommand(page, 'View: Toggle Maximized Panel');
  await page.waitForTimeout(300);
}

/** Find `needle` in the active editor with the find widget: "1 of 1", "No results". */
async function findInEditor(page, needle) {
  await page.click('.editor-instance .view-lines');
  await page.keyboard.press('Control+F');
  const input = await page.waitForSelector('.find-widget textarea, .find-widget input', { state: 'visible', timeout: 5000 });
  await input.fill(needle);
  await page.waitForTimeout(200);
  const count = await page.$eval('.find-widget .matchesCount', (e) => e.innerText).catch(() => '');
  await page.keyboard.press('Escape');
  return squash(count);
}

/** Headless Chromium on the workbench at `url`, once its explorer lists the folder. */
async function openWorkbench(url) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    env: {
      ...process.env,
      HOME: BROWSER_HOME,
      XDG_CONFIG_HOME: path.join(BROWSER_HOME, 'config'),
      XDG_CACHE_HOME: path.join(BROWSER_HOME, 'cache'),
    },
    // As root, offline: no sandbox, and no background connections to refuse.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  // The explorer lists the folder once the workbench and its file service are ready.
  await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60000 });
  log('workbench loaded');
  return { browser, page };
}

/** Run `main`, write the checks to RESULT_JSON and exit 0 only if every check passed. */
function runHarness(main) {
  main().then(
    () => undefined,
    (error) => {
      log('error', error && error.stack ? error.stack : error);
      checks.harness = { ok: false, ms: ms(), detail: String(error && error.message ? error.message : error) };
    },
  ).finally(() => {
    const ok = Object.values(checks).length > 0 && Object.values(checks).every((c) => c.ok);
    fs.writeFileSync(RESULT_JSON, JSON.stringify({ ok, checks, totalMs: ms() }, null, 2));
    log(ok ? 'PASS' : 'FAIL');
    process.exit(ok ? 0 : 1);
  });
}

module.exports = {
  check, log, poll, squash, problemRows, statusText, toasts, openFile, runPaletteCommand,
  togglePanelMaximized, findInEditor, openWorkbench, runHarness,
};
