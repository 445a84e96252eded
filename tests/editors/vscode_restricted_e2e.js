// VS Code in Restricted Mode: code-server with workspace trust on, started by
// tests/editors/test_vscode.py on the hostile repository of tests/hostile.py, which it
// never trusts. The extension starts (it supports untrusted workspaces in a limited way)
// and reviews with its own ruff; the repository's programs stay unstarted (the test reads
// their marker files), and mypy is not run, since the project's mypy config loads a plugin.
// Then the user trusts the folder, and the extension restarts the server.
//
// env: VSCODE_URL, WORKSPACE, RESULT_JSON, SCREENSHOT, FINAL_SCREENSHOT, CHROMIUM, BROWSER_HOME,
// PLAYWRIGHT_CORE, as for vscode_e2e.js.
'use strict';
const fs = require('fs');
const {
  check, log, poll, problemRows, toasts, openFile, runPaletteCommand, togglePanelMaximized,
  openWorkbench, runHarness,
} = require('./vscode_ui');

const URL = process.env.VSCODE_URL;
const WORKSPACE = process.env.WORKSPACE;
const SCREENSHOT = process.env.SCREENSHOT || 'vscode-restricted.png';
const FINAL_SCREENSHOT = process.env.FINAL_SCREENSHOT || 'vscode-restricted-final.png';

async function main() {
  const { browser, page } = await openWorkbench(URL);
  try {
    const restricted = await poll(page,
      () => page.$$eval('.statusbar-item', (items) => items.map((i) => i.innerText).join(' | ')),
      (text) => /Restricted Mode/.test(text), 30000);
    check('restricted mode: the window does not trust the folder', /Restricted Mode/.test(restricted), restricted);

    await openFile(page, 'mod.py');
    await page.keyboard.press('Control+Shift+M');
    await page.waitForSelector('.markers-panel', { timeout: 15000 });
    await togglePanelMaximized(page);
    const rows = await poll(page, () => problemRows(page),
      (r) => r.some((x) => /F401/.test(x)) && r.some((x) => /Quality \d+\/100/.test(x)), 90000);
    const text = rows.join('\n');
    check('problems: ruff F401 in mod.py, from our own ruff', /ruff\s*\(?F401/.test(text), rows);
    check('problems: the score', /Quality \d+\/100/.test(text), rows.filter((r) => /Quality/.test(r)));
    check('problems: no mypy row (its config loads a plugin)', !/mypy\s*\(?assignment/.test(text), rows);
    await page.screenshot({ path: SCREENSHOT });
    log('screenshot', SCREENSHOT);

    const said = await poll(page, () => toasts(page), (t) => t.some((x) => /not trusted/.test(x)), 30000);
    check('notification: why the workspace chose nothing', said.some((x) => /not trusted/.test(x)), said);

    const ran = fs.readdirSync(WORKSPACE).filter((name) => name.startsWith('MARKER-'));
    check('markers: no program of the repository ran before trust', ran.length === 0, ran);

    // The user grants trust: the extension restarts the server, which may now run what
    // the workspace names (the test then finds the markers of those programs).
    await runPaletteCommand(page, 'Workspaces: Manage Workspace Trust');
    const trust = await page.waitForSelector('.workspace-trust-editor .monaco-button:text-is("Trust")', { timeout: 15000 });
    await trust.click();
    const trusted = await poll(page,
      () => page.$$eval('.statusbar-item', (items) => items.map((i) => i.innerText).join(' | ')),
      (text) => !/Restricted Mode/.test(text), 15000);
    check('trust granted: Restricted Mode ends', !/Restricted Mode/.test(trusted), trusted);
    // The restarted server reviews the open file again (with the workspace's programs).
    await page.waitForTimeout(5000);
  } finally {
    await page.screenshot({ path: FINAL_SCREENSHOT }).catch(() => {});
    await browser.close().catch(() => {});
  }
}

runHarness(main);
