// tapps-lsp for VS Code and its forks (Cursor, VSCodium): only stable API, nothing
// that needs the Python extension (it is used when installed).
import * as vscode from 'vscode';
import { TappsClient } from './client';
import { ResultDocuments, SCHEME, registerCommands } from './commands';
import { onDidChangeInterpreter } from './python';
import { ScoreStatus } from './statusBar';

let tapps: TappsClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const status = new ScoreStatus('tapps-lsp.showScore', 'tapps-lsp.statusProblem');
  tapps = new TappsClient(status);
  const documents = new ResultDocuments();
  context.subscriptions.push(
    status,
    tapps,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, documents),
    vscode.workspace.onDidChangeConfiguration((event) => tapps?.configurationChanged(event)),
    // Trust granted: the workspace's environment and `[tool.tapps]` apply from a new start.
    vscode.workspace.onDidGrantWorkspaceTrust(() => void tapps?.restart()),
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      // The client tells the server about folders itself; the status may change.
      status.update();
    }),
  );
  registerCommands(context, tapps, status, documents);
  const interpreterWatch = await onDidChangeInterpreter(() => {
    const configured = vscode.workspace.getConfiguration('tapps');
    const explicit = (configured.get<string[]>('path') ?? []).length > 0 || Boolean(configured.get<string>('interpreter'));
    if (!explicit) {
      void tapps?.restart();
    }
  });
  if (interpreterWatch !== undefined) {
    context.subscriptions.push(interpreterWatch);
  }
  await tapps.start();
}

export async function deactivate(): Promise<void> {
  await tapps?.stop();
  tapps = undefined;
}
