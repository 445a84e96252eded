// Drives real VS Code (code-server, started by tests/editors/test_vscode.py with our
// .vsix installed) in headless Chromium through playwright-core, as a user would:
// Problems panel, status bar, command palette, edit and save.
//
// env:
//   VSCODE_URL       the workbench URL, with ?folder=<workspace>
//   WORKSPACE        the folder opened (a copy of tests/fixtures/basic)
//   CHROMIUM         the browser (default /usr/bin/chromium)
//   BROWSER_HOME     a temp dir for the browser's XDG dirs
//   RESULT_JSON      where the result goes
//   SCREENSHOT       the Problems panel + status bar screenshot (for the README)
//   FINAL_SCREENSHOT the screen at the end, or when a check failed
//   PLAYWRIGHT_CORE  the playwright-core package folder
//
// The result: {"ok": bool, "checks": {name: {"ok", "ms", "detail"}}, "error"?, "totalMs"}.
// Exit status 0 when every check passed, 1 otherwise.
'use strict';
const fs = require('fs');
const path = require('path');

const {
  check, log, poll, squash, problemRows, statusText, toasts, openFile, runPaletteCommand,
  togglePanelMaximized, findInEditor, openWorkbench, runHarness,
} = require('./vscode_ui');

const URL = process.env.VSCODE_URL;
const WORKSPACE = process.env.WORKSPACE;
const SCREENSHOT = process.env.SCREENSHOT || 'vscode-problems.png';
const FINAL_SCREENSHOT = process.env.FINAL_SCREENSHOT || 'vscode-final.png';

async function main() {
  const { browser, page } = await openWorkbench(URL);
  try {
    // A setting changed while VS Code runs reaches the server without a reload: the
    // mypy CLI instead of the warm engine (so that Review Workspace below does real work).
    // Done first, so that the reviews it causes are over before the cache is cleared.
    const debugInformationHas = async (needle) => {
      await runPaletteCommand(page, 'Tapps: Show Debug Information');
      await page.waitForSelector('.tabs-container .tab.active:has-text("debug-information.json")', { timeout: 30000 });
      const found = await findInEditor(page, needle);
      await page.keyboard.press('Control+W');
      return found;
    };
    const before = await poll(page, () => debugInformationHas('"engine": true'), (f) => /\bof [1-9]/.test(f), 30000, 500);
    await runPaletteCommand(page, 'Preferences: Open User Settings');
    await page.waitForSelector('.settings-editor', { timeout: 15000 });
    await page.waitForTimeout(500); // the search box has the focus once the editor is laid out
    await page.keyboard.type('tapps.mypy.engine');
    const engine = await page.waitForSelector(
      '.settings-editor .setting-item-bool:has-text("Engine") .setting-value-checkbox', { timeout: 15000 });
    if ((await engine.getAttribute('aria-checked')) === 'true') await engine.click();
    await page.waitForFunction(() => {
      const box = document.querySelector('.settings-editor .setting-item-bool .setting-value-checkbox');
      return box && box.getAttribute('aria-checked') === 'false';
    }, null, { timeout: 5000 });
    await page.keyboard.press('Control+W'); // close the settings editor
    const after = await poll(page, () => debugInformationHas('"engine": false'), (f) => /\bof [1-9]/.test(f), 30000, 500);
    check('settings: a change reaches the server (Show Debug Information)',
      /\bof [1-9]/.test(before) && /\bof [1-9]/.test(after),
      `"engine": true before: ${before}; "engine": false after: ${after}`);

    // typeerr.py first (for mypy's row), lint.py last: it stays the active editor.
    await openFile(page, 'typeerr.py');
    await openFile(page, 'lint.py');
    log('files open');

    await page.keyboard.press('Control+Shift+M'); // the Problems panel
    await page.waitForSelector('.markers-panel', { timeout: 15000 });
    const want = (rows) => {
      const text = rows.join('\n');
      // Final answers: no row still marked [stale] (last-known mypy findings while mypy runs).
      return /F401/.test(text) && /assignment/.test(text) && /Quality \d+\/100/.test(text) && !/\[stale\]/.test(text);
    };
    // The Problems list is virtual: only rows on screen exist. A maximized panel shows them all.
    await togglePanelMaximized(page);
    let rows = await poll(page, () => problemRows(page), want, 90000);
    const text = rows.join('\n');
    check('problems: ruff F401 in lint.py', /ruff\s*\(?F401/.test(text) && /imported but unused/.test(text),
      rows.filter((r) => /F401/.test(r)));
    check('problems: mypy assignment in typeerr.py', /mypy\s*\(?assignment/.test(text),
      rows.filter((r) => /assignment/.test(r)));
    check('problems: score (source tapps)', /tapps\s*\(?score/.test(text) && /Quality \d+\/100/.test(text),
      rows.filter((r) => /Quality/.test(r)));

    // The status bar shows lint.py's score: the same number as its score row.
    const lintScore = await poll(page, async () => {
      const all = await problemRows(page);
      // Rows come file by file: "N problems in file lint.py of folder app", then its rows.
      let file;
      for (const row of all) {
        const header = /problems? in file (\S+) of folder/.exec(row);
        if (header) {
          file = header[1];
          continue;
        }
        const match = /Quality (\d+)\/100/.exec(row);
        if (file === 'lint.py' && match) return Number(match[1]);
      }
      return undefined;
    }, (v) => v !== undefined, 10000);
    const status = await poll(page, () => statusText(page),
      (s) => lintScore !== undefined && new RegExp(`Tapps ${lintScore}\\b`).test(s), 20000);
    check('status bar: score of the active file', lintScore !== undefined && new RegExp(`Tapps ${lintScore}\\b`).test(status),
      { statusBar: status, lintScoreRow: lintScore });

    await togglePanelMaximized(page);
    await page.click('.editor-instance .view-lines');
    await page.waitForTimeout(300);
    await page.screenshot({ path: SCREENSHOT });
    log('screenshot', SCREENSHOT);

    // A click on the status bar item opens the breakdown (tapps.scoreFile).
    await page.click('.statusbar-item:has-text("Tapps")');
    const breakdown = await poll(page,
      () => page.$eval('.quick-input-widget', (e) => e.innerText).then(squash).catch(() => ''),
      (t) => /Quality \d+\/100/.test(t) && /Lint/.test(t), 15000);
    check('status bar click: score breakdown', new RegExp(`Quality ${lintScore}/100`).test(breakdown)
      && /Total: \d+/.test(breakdown) && /F401/.test(breakdown), breakdown.slice(0, 300));
    await page.keyboard.press('Escape');

    // Run Server Command…: every command the server lists, here tapps.metrics.
    await runPaletteCommand(page, 'Tapps: Run Server Command');
    const listed = await poll(page,
      () => page.$$eval('.quick-input-list .monaco-list-row', (rows) => rows.map((r) => r.innerText.trim())),
      (rows) => rows.includes('tapps.metrics'), 10000);
    await page.keyboard.type('tapps.metrics');
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter'); // the command
    await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 5000 });
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter'); // no arguments
    const metricsTab = await page.waitForSelector('.tabs-container .tab.active:has-text("tapps.metrics.json")',
      { timeout: 15000 }).then(() => true, () => false);
    check('palette: Tapps: Run Server Command… (tapps.metrics)', listed.includes('tapps.reviewWorkspace') && metricsTab,
      { listed, metricsTab });
    await page.keyboard.press('Control+W');
    await openFile(page, 'lint.py');

    await runPaletteCommand(page, 'Tapps: Clear Cache');
    const cleared = await poll(page, () => toasts(page), (t) => t.some((x) => /removed \d+ cache entries/.test(x)), 20000);
    check('palette: Tapps: Clear Cache', cleared.some((x) => /removed \d+ cache entries/.test(x)), cleared);

    // Review Workspace from the palette, after clearing the cache: a review with real
    // work to show progress for (the server sends none for work done within 0.3 s).
    await runPaletteCommand(page, 'Tapps: Review Workspace');
    let spinner = false;
    let progressToast = false;
    const reviewed = await poll(page, async () => {
      const [t, s, spin] = await Promise.all([
        toasts(page),
        statusText(page),
        page.$$eval('.statusbar-item .codicon-sync.codicon-modifier-spin', (e) => e.length),
      ]);
      if (spin > 0) spinner = true;
      const shown = t.find((x) => /Reviewing the workspace/.test(x));
      if (shown) progressToast = shown;
      return { t, s };
    }, (v) => v.t.some((x) => /Reviewed \d+ files/.test(x)), 90000, 50);
    check('palette: Tapps: Review Workspace finished', reviewed.t.some((x) => /Reviewed \d+ files/.test(x)),
      reviewed.t.filter((x) => /Reviewed/.test(x)));
    check('review: progress notification and status bar spinner', Boolean(progressToast) && spinner,
      { progressToast, spinner });

    // Run Workflow…: the pick lists the presets and the fixture's `slow` (pyproject.toml);
    // `minimal` ends with its summary.
    const quickPickRows = () => page.$$eval('.quick-input-list .monaco-list-row',
      (items) => items.map((i) => i.innerText)).then((texts) => texts.map(squash));
    const workflowToast = (name) => (t) => t.some((x) => new RegExp(`${name}: \\w+ · `).test(x));
    const hasWorkflows = (names) => (rows) => names.every((n) => rows.some((x) => x.startsWith(n)));
    await runPaletteCommand(page, 'Tapps: Run Workflow');
    const picks = await poll(page, quickPickRows, hasWorkflows(['minimal', 'standard', 'comprehensive', 'full', 'slow']), 15000);
    const listsPresets = hasWorkflows(['minimal', 'standard', 'comprehensive', 'full'])(picks);
    const describes = picks.some((x) => /^standard\s*ruff, mypy, score\s*preset$/.test(x))
      && picks.some((x) => /^slow\s*command\s*pyproject\.toml$/.test(x));
    check('workflow: the pick lists the presets and pyproject.toml\'s', listsPresets && describes, picks);
    await page.keyboard.type('minimal');
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter');
    let ran = await poll(page, () => toasts(page), workflowToast('minimal'), 30000);
    // Its Show Problems button closes it and opens the Problems panel.
    await page.keyboard.press('Control+J'); // the panel closed, for the button to open it
    const problemsClosed = await page.waitForSelector('.markers-panel', { state: 'hidden', timeout: 5000 })
      .then(() => true, () => false);
    const showProblems = await page.$('.notifications-toasts .notification-toast:has-text("minimal: done") '
      + '.monaco-button:has-text("Show Problems")');
    if (showProblems) await showProblems.click();
    const problemsOpened = await page.waitForSelector('.markers-panel', { state: 'visible', timeout: 5000 })
      .then(() => true, () => false);
    check('workflow: minimal ends with its summary, Show Problems opens the panel',
      ran.some((x) => /minimal: done · 3 findings · [\d.]+ s/.test(x)) && problemsClosed && problemsOpened,
      { toasts: ran.filter((x) => /minimal/.test(x)), showProblems: Boolean(showProblems), problemsClosed, problemsOpened });

    // A keybinding names its workflow (args, no pick): comprehensive's tapps-docs findings in Problems.
    await page.click('.editor-instance .view-lines');
    await page.keyboard.press('Control+Alt+Shift+F9');
    ran = await poll(page, () => toasts(page), workflowToast('comprehensive'), 60000);
    await togglePanelMaximized(page);
    // (The list is virtual: the docs step's rows come first, vulture's may be off screen.)
    rows = await poll(page, () => problemRows(page), (r) => r.some((x) => /tapps-docs D10\d/.test(x)), 20000);
    await togglePanelMaximized(page);
    check('workflow: comprehensive from a keybinding, its tapps-* rows in Problems',
      ran.some((x) => /comprehensive: done · \d+ findings/.test(x)) && rows.some((x) => /tapps-docs D10\d/.test(x)),
      { toasts: ran.filter((x) => /comprehensive/.test(x)), rows: rows.filter((x) => /tapps-/.test(x)).slice(0, 6) });

    // Cancelling the progress notification cancels the run.
    await runPaletteCommand(page, 'Tapps: Run Workflow');
    await poll(page, quickPickRows, hasWorkflows(['slow']), 15000);
    await page.keyboard.type('slow');
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter');
    const running = await poll(page, () => toasts(page),
      (t) => t.some((x) => /Running workflow slow/.test(x) && /running: wait/.test(x)), 20000);
    const cancelButton = await page.$('.notifications-toasts .notification-toast:has-text("Running workflow slow") '
      + '.monaco-button:has-text("Cancel")');
    if (cancelButton) await cancelButton.click();
    ran = await poll(page, () => toasts(page), workflowToast('slow'), 30000);
    check('workflow: cancelling its progress cancels the run', Boolean(cancelButton)
      && ran.some((x) => /slow: cancelled\b/.test(x)),
      { running: running.filter((x) => /slow/.test(x)), ended: ran.filter((x) => /slow/.test(x)) });

    // Fix lint.py like a user: delete the unused import, save.
    await page.click('.editor-instance .view-lines');
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Control+Shift+K');
    await page.keyboard.press('Control+S');
    const onDisk = await poll(page, async () => fs.readFileSync(path.join(WORKSPACE, 'app/lint.py'), 'utf8'),
      (t) => !/^import os/m.test(t), 10000);
    check('save: lint.py written without the import', !/^import os/m.test(onDisk), onDisk.split('\n')[0]);
    await togglePanelMaximized(page);
    rows = await poll(page, () => problemRows(page),
      (r) => !r.some((x) => /F401/.test(x)) && r.some((x) => /assignment/.test(x)), 60000);
    check('save: the F401 row is gone, mypy\'s stays',
      !rows.some((x) => /F401/.test(x)) && rows.some((x) => /assignment/.test(x)), rows);

    // Restart Server: a new server, and the score is back in the status bar.
    await runPaletteCommand(page, 'Tapps: Restart Server');
    await page.waitForTimeout(1000);
    const restarted = await poll(page, () => statusText(page), (t) => /Tapps \d+/.test(t), 30000);
    check('palette: Tapps: Restart Server, the score comes back', /Tapps \d+/.test(restarted), restarted);
  } finally {
    await page.screenshot({ path: FINAL_SCREENSHOT }).catch(() => {});
    await browser.close().catch(() => {});
  }
}

runHarness(main);
