// Which tapps-lsp to start, in this order:
//   1. `tapps.path`: a command and its arguments, as given;
//   2. `tapps-lsp` next to `tapps.interpreter` (the project's Python);
//   3. `tapps-lsp` next to the Python extension's selected interpreter, if installed;
//   4. `tapps-lsp` on PATH.
// In a workspace that is not trusted, the Python extension's choice is not asked, and a
// command inside a workspace folder (its `.venv/bin/tapps-lsp`) is passed over.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { selectedInterpreter } from './python';
import { SECTION, resolvePath } from './settings';
import { mayStart, workspaceTrusted } from './trust';

export interface Launch {
  command: string;
  args: string[];
  /** Where the command came from, for messages and debug information. */
  source: string;
  /** The project's Python: `tapps.interpreter` or the Python extension's choice. */
  interpreter?: string;
}

export interface NotFound {
  problem: string;
  installCommand: string;
  interpreter?: string;
}

const isWindows = process.platform === 'win32';
const SERVER_NAMES = isWindows ? ['tapps-lsp.exe', 'tapps-lsp.cmd', 'tapps-lsp'] : ['tapps-lsp'];

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, isWindows ? fs.constants.F_OK : fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `tapps-lsp` in the same environment as `python` (bin/ or Scripts/). */
function besideInterpreter(python: string): string | undefined {
  const dirs = [path.dirname(python)];
  if (isWindows) {
    dirs.push(path.join(path.dirname(python), 'Scripts'));
  }
  for (const dir of dirs) {
    for (const name of SERVER_NAMES) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

function onPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) {
      continue;
    }
    for (const name of SERVER_NAMES) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate) && mayStart(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, '\\$1')}"`;
}

export async function findServer(
  folder: vscode.WorkspaceFolder | undefined,
): Promise<Launch | NotFound> {
  const config = vscode.workspace.getConfiguration(SECTION, folder?.uri);

  const configured = config.get<string[] | string>('path');
  const parts = (Array.isArray(configured) ? configured : configured ? [configured] : [])
    .map((part) => String(part))
    .filter((part) => part.trim() !== '');
  let interpreter: string | undefined = config.get<string>('interpreter')?.trim() || undefined;
  let interpreterSource = 'tapps.interpreter';
  if (interpreter !== undefined) {
    interpreter = resolvePath(interpreter, folder);
  } else if (workspaceTrusted()) {
    interpreter = await selectedInterpreter(folder);
    interpreterSource = 'the Python extension';
  }
  if (interpreter !== undefined && !mayStart(interpreter)) {
    interpreter = undefined; // the workspace's own environment, in a workspace not trusted
  }

  if (parts.length > 0) {
    const command = resolvePath(parts[0], folder);
    const args = parts.slice(1).map((arg) => resolvePath(arg, folder));
    if (path.isAbsolute(command) && !mayStart(command)) {
      return {
        problem: `tapps.path names ${command}, inside this workspace, which is not trusted: it is not started. Trust the workspace, or name a tapps-lsp outside it.`,
        installCommand: 'pip install tapps-lsp',
      };
    }
    if (path.isAbsolute(command) && !isExecutable(command)) {
      return {
        problem: `tapps.path names ${command}, which is not an executable file.`,
        installCommand: 'pip install tapps-lsp',
        interpreter,
      };
    }
    return { command, args, source: 'tapps.path', interpreter };
  }

  if (interpreter !== undefined) {
    const beside = besideInterpreter(interpreter);
    if (beside !== undefined && mayStart(beside)) {
      return { command: beside, args: [], source: `the environment of ${interpreterSource}`, interpreter };
    }
  }
  const found = onPath();
  if (found !== undefined) {
    return { command: found, args: [], source: 'PATH', interpreter };
  }
  const where =
    interpreter !== undefined
      ? `in the environment of ${interpreter} (${interpreterSource}) nor on PATH`
      : 'on PATH';
  return {
    problem: `tapps-lsp was not found ${where}.`,
    installCommand:
      interpreter !== undefined
        ? `${quote(interpreter)} -m pip install tapps-lsp`
        : 'pip install tapps-lsp',
    interpreter,
  };
}

export function isLaunch(found: Launch | NotFound): found is Launch {
  return (found as Launch).command !== undefined;
}
