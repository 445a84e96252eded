// Workspace trust. In a restricted-mode window (a workspace VS Code does not trust) the
// workspace chooses no program: VS Code itself ignores its values of the settings that
// name one (`restrictedConfigurations` in package.json), the Python extension's selected
// interpreter is not used, nothing inside a workspace folder is started, and the server is
// told `trustedWorkspace: false`, so `[tool.tapps]`, `.venv` and mypy plugins stay unused.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

/** Whether tapps-lsp lets this window's workspace choose programs: VS Code trusts it, and
 * the user's own `tapps.trustedWorkspace` (application scope: no workspace can set it)
 * does not say no. */
export function workspaceTrusted(): boolean {
  if (!vscode.workspace.isTrusted) {
    return false;
  }
  return vscode.workspace.getConfiguration('tapps').get<boolean>('trustedWorkspace', true);
}

function within(file: string, folder: string): boolean {
  const relative = path.relative(folder, file);
  return relative === '' || (relative.split(path.sep)[0] !== '..' && !path.isAbsolute(relative));
}

function realpath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/** Whether `file`, as named or as its links resolve, is inside a workspace folder. */
export function insideWorkspace(file: string): boolean {
  const named = path.resolve(file);
  const resolved = realpath(named);
  return (vscode.workspace.workspaceFolders ?? []).some((folder) => {
    const roots = [folder.uri.fsPath, realpath(folder.uri.fsPath)];
    return roots.some((root) => within(named, root) || within(resolved, root));
  });
}

/** Whether a program may be started: anything when trusted, else nothing of the workspace's. */
export function mayStart(file: string): boolean {
  return workspaceTrusted() || !insideWorkspace(file);
}
