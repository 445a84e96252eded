// The Python extension's selected interpreter, when that extension is installed.
//
// It is optional: Cursor, VSCodium and others may not have `ms-python.python`, so it is
// never a dependency. Its API is typed here loosely, only as far as we use it.
import * as vscode from 'vscode';

const PYTHON_EXTENSION = 'ms-python.python';

interface EnvironmentPath {
  id?: string;
  path: string;
}

interface ResolvedEnvironment {
  executable?: { uri?: vscode.Uri };
}

interface PythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri | vscode.WorkspaceFolder): EnvironmentPath;
    resolveEnvironment(env: EnvironmentPath | string): Promise<ResolvedEnvironment | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
  settings?: {
    getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] };
    onDidChangeExecutionDetails?: vscode.Event<unknown>;
  };
}

export function pythonExtensionInstalled(): boolean {
  return vscode.extensions.getExtension(PYTHON_EXTENSION) !== undefined;
}

async function api(): Promise<PythonApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonApi>(PYTHON_EXTENSION);
  if (extension === undefined) {
    return undefined;
  }
  try {
    return extension.isActive ? extension.exports : await extension.activate();
  } catch {
    return undefined;
  }
}

/** The interpreter the Python extension selected for `folder`, or undefined. */
export async function selectedInterpreter(
  folder: vscode.WorkspaceFolder | undefined,
): Promise<string | undefined> {
  const python = await api();
  if (python === undefined) {
    return undefined;
  }
  try {
    const environments = python.environments;
    if (environments !== undefined) {
      const active = environments.getActiveEnvironmentPath(folder?.uri);
      const resolved = await environments.resolveEnvironment(active);
      const executable = resolved?.executable?.uri?.fsPath;
      if (executable) {
        return executable;
      }
      if (active?.path) {
        return active.path;
      }
    }
    const command = python.settings?.getExecutionDetails?.(folder?.uri).execCommand;
    return command?.[0] || undefined;
  } catch {
    return undefined;
  }
}

/** Called when the user selects another interpreter. */
export async function onDidChangeInterpreter(
  listener: () => void,
): Promise<vscode.Disposable | undefined> {
  const python = await api();
  const event =
    python?.environments?.onDidChangeActiveEnvironmentPath ??
    python?.settings?.onDidChangeExecutionDetails;
  return event?.(() => listener());
}
