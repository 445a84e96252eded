// The `tapps` section as the server sees it.
//
// The server layers its settings: built-in defaults, then `[tool.tapps]` in the folder's
// pyproject.toml, then what the editor sends. So the extension sends only the keys the
// user set explicitly (in any scope); a default of ours must never hide the project's
// own `[tool.tapps]`. Extension-only keys (`path`, `trace`) are never sent: the server
// would report them as unknown.
import * as path from 'path';
import * as vscode from 'vscode';

export const SECTION = 'tapps';

/** Every server setting, dotted and camelCase, as in analyzers/settings.py. */
export const SERVER_KEYS = [
  'ruff.enabled',
  'ruff.path',
  'ruff.args',
  'mypy.enabled',
  'mypy.path',
  'mypy.args',
  'mypy.targets',
  'mypy.engine',
  'cache.enabled',
  'cache.dir',
  'cache.maxSizeMb',
  'baseline.show',
  'severity',
  'scoreThreshold',
  'timeout',
  'maxFileSize',
  'interpreter',
  'exclude',
  'concurrency',
  'maxQueuedTasks',
  'slowRequestSeconds',
  'engineMaxRssMb',
  'testCommand',
  'workflows',
] as const;

/** Settings that change how the server is started: a change restarts it. */
export const LAUNCH_KEYS = ['tapps.path', 'tapps.interpreter', 'tapps.trustedWorkspace'];

function isSet(inspected: object): boolean {
  const i = inspected as Record<string, unknown>;
  return [
    'globalValue',
    'workspaceValue',
    'workspaceFolderValue',
    'globalLanguageValue',
    'workspaceLanguageValue',
    'workspaceFolderLanguageValue',
  ].some((scope) => i[scope] !== undefined);
}

/**
 * The explicitly set server settings for `scope`, nested (`{ruff: {enabled: false}}`).
 * `interpreter` falls back to `selectedInterpreter` (the Python extension's choice).
 */
export function serverSettings(
  scope: vscode.Uri | undefined,
  selectedInterpreter?: string,
): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const result: Record<string, unknown> = {};
  for (const key of SERVER_KEYS) {
    const inspected = config.inspect(key);
    if (inspected === undefined || !isSet(inspected)) {
      continue;
    }
    const value = config.get(key);
    if (value === undefined || value === null || value === '') {
      continue; // an empty string means "the default" in our contributes schema
    }
    setDotted(result, key, value);
  }
  if (result.interpreter === undefined && selectedInterpreter) {
    result.interpreter = selectedInterpreter;
  }
  return result;
}

function setDotted(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null) {
      node[part] = {};
    }
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/** Expand `~` and `${workspaceFolder}`, and make a relative path (one with a slash) absolute. */
export function resolvePath(value: string, folder: vscode.WorkspaceFolder | undefined): string {
  const home = process.env.HOME ?? process.env.USERPROFILE ?? '';
  let result = value.trim();
  if (folder !== undefined) {
    result = result.replace(/\$\{workspaceFolder\}/g, folder.uri.fsPath);
  }
  if (result === '~' || result.startsWith('~/')) {
    result = path.join(home, result.slice(1));
  }
  const looksLikePath = result.includes('/') || result.includes('\\');
  if (looksLikePath && !path.isAbsolute(result) && folder !== undefined) {
    result = path.join(folder.uri.fsPath, result);
  }
  return result;
}
