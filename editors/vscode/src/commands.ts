// The palette commands. Extension command ids are `tapps-lsp.*`; the server's own are
// `tapps.*` (vscode-languageclient registers those itself, under their own names).
import * as vscode from 'vscode';
import { TappsClient } from './client';
import { pythonExtensionInstalled } from './python';
import { ScoreStatus } from './statusBar';
import { RunAnswer, WorkflowList, runSummary, workflowItems } from './workflows';

export const SCHEME = 'tapps-lsp';

/** Read-only JSON documents (`tapps-lsp:/metrics.json`): nothing to save when closed. */
export class ResultDocuments implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.path) ?? '';
  }

  async show(name: string, value: unknown): Promise<void> {
    const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${name}.json` });
    this.contents.set(uri.path, JSON.stringify(value, null, 2) + '\n');
    this.changed.fire(uri);
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(document, 'json');
    await vscode.window.showTextDocument(document, { preview: false });
  }
}

interface ScoreNumbers {
  total?: number | null;
  types?: number | null;
  lint?: number | null;
  complexity?: number | null;
  security?: number | null;
  reason?: string | null;
}

interface ScoreFileResult {
  uri: string;
  score?: ScoreNumbers | null;
  findings: Array<{
    source: string;
    code: string | null;
    severity: string;
    message: string;
    line: number;
    column: number;
    endLine: number;
    endColumn: number;
  }>;
  failures?: string[];
}

interface BatchSummary {
  files?: number;
  findings?: { total?: number };
  meanScore?: number | null;
  worstFiles?: Array<{ path: string; score: number | null }>;
  durationMs?: number;
  cancelled?: boolean;
}

const SEVERITY_ICON: Record<string, string> = {
  error: '$(error)',
  warning: '$(warning)',
  information: '$(info)',
  hint: '$(lightbulb)',
};

/** The folder a workflow runs in: the active file's with several folders, else the server's default. */
function workflowFolder(): { folder?: string } {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const active = vscode.window.activeTextEditor?.document.uri;
  const folder = folders.length > 1 && active ? vscode.workspace.getWorkspaceFolder(active) : undefined;
  return folder ? { folder: folder.uri.toString() } : {};
}

/** Server commands that the quick pick prefills arguments for. */
function argumentTemplate(command: string): string {
  const uri = vscode.window.activeTextEditor?.document.uri.toString();
  switch (command) {
    case 'tapps.scoreFile':
      return JSON.stringify({ uri: uri ?? '' });
    case 'tapps.reviewFiles':
      return JSON.stringify({ uris: uri ? [uri] : [] });
    default:
      return '';
  }
}

export function registerCommands(
  context: vscode.ExtensionContext,
  tapps: TappsClient,
  status: ScoreStatus,
  documents: ResultDocuments,
): void {
  const register = (id: string, run: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await run(...args);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          tapps.output.error(`${id}: ${message}`);
          void vscode.window.showErrorMessage(`tapps-lsp: ${message}`);
          return undefined;
        }
      }),
    );
  };

  register('tapps-lsp.reviewWorkspace', async () => {
    const summary = await tapps.execute<BatchSummary>('tapps.reviewWorkspace', [], {
      progressTitle: 'tapps-lsp: Reviewing the workspace',
      onProgress: (message) => status.workspaceProgress(message),
    });
    if (summary === undefined) {
      return undefined;
    }
    const seconds = ((summary.durationMs ?? 0) / 1000).toFixed(1);
    const how = summary.cancelled ? 'Cancelled after' : 'Reviewed';
    const mean = summary.meanScore != null ? ` · mean score ${summary.meanScore}` : '';
    const worst = summary.worstFiles?.[0];
    const worstText = worst ? ` · worst: ${worst.path} (${worst.score ?? 'no score'})` : '';
    const text = `${how} ${summary.files ?? 0} files · ${summary.findings?.total ?? 0} findings${mean}${worstText} · ${seconds} s`;
    tapps.output.info(text);
    void vscode.window.showInformationMessage(text, 'Show Problems').then((choice) => {
      if (choice) {
        void vscode.commands.executeCommand('workbench.actions.view.problems');
      }
    });
    return summary;
  });

  // Run Workflow…: a pick over the workflows, or the one named by a keybinding's `args`.
  register('tapps-lsp.runWorkflow', async (name?: unknown) => {
    const scope = workflowFolder();
    let workflow = typeof name === 'string' && name !== '' ? name : undefined;
    if (workflow === undefined) {
      const list = await tapps.execute<WorkflowList>('tapps.listWorkflows', [scope]);
      if (list === undefined) {
        return undefined;
      }
      if (list.problems.length > 0) {
        const text = `tapps-lsp: ${list.problems.length} problem${list.problems.length === 1 ? '' : 's'} in the workflows: ${list.problems.join(' ')}`;
        tapps.output.warn(text);
        void vscode.window.showWarningMessage(text);
      }
      const picked = await vscode.window.showQuickPick(workflowItems(list), {
        title: 'Run a tapps-lsp workflow',
        placeHolder: 'workflow (its steps; where it is declared)',
        matchOnDescription: true,
      });
      if (picked === undefined) {
        return undefined;
      }
      workflow = picked.workflow;
    }
    const started = Date.now();
    const answer = await tapps.execute<RunAnswer>('tapps.runWorkflow', [{ workflow, ...scope }], {
      progressTitle: `tapps-lsp: Running workflow ${workflow}`,
      onProgress: (message) => status.workspaceProgress(message, `Running workflow ${workflow}`),
    });
    if (answer === undefined || answer === null) {
      return undefined;
    }
    const summary = runSummary(workflow, answer, (Date.now() - started) / 1000);
    tapps.output.info(`${summary.text} (run ${answer.runId})`);
    const buttons = ['Show Problems', 'Show Report'];
    const shown = summary.failed
      ? vscode.window.showWarningMessage(summary.text, ...buttons)
      : vscode.window.showInformationMessage(summary.text, ...buttons);
    void shown.then((choice) => {
      if (choice === 'Show Problems') {
        void vscode.commands.executeCommand('workbench.actions.view.problems');
      } else if (choice === 'Show Report') {
        void documents.show(`run-${answer.runId}`, answer);
      }
    });
    return answer;
  });

  register('tapps-lsp.showScore', async () => {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined || editor.document.languageId !== 'python') {
      void vscode.window.showInformationMessage('tapps-lsp: open a Python file to see its score.');
      return undefined;
    }
    const uri = editor.document.uri;
    const result = await tapps.execute<ScoreFileResult>('tapps.scoreFile', [{ uri: uri.toString() }]);
    if (result === undefined) {
      return undefined;
    }
    const score = result.score ?? {};
    const name = vscode.workspace.asRelativePath(uri);
    type Item = vscode.QuickPickItem & { range?: vscode.Range };
    const items: Item[] = [];
    const part = (label: string, value: number | null | undefined, detail: string): void => {
      items.push({ label: `${label}: ${value ?? '–'}`, description: detail });
    };
    part('$(dashboard) Total', score.total, score.reason ?? 'out of 100, the weighted mean of the four below');
    part('$(symbol-class) Types', score.types, 'mypy errors per logical line');
    part('$(checklist) Lint', score.lint, 'ruff findings per logical line (not security or design)');
    part('$(git-merge) Complexity', score.complexity, 'function complexity, design findings and file size');
    part('$(shield) Security', score.security, 'ruff S (bandit) findings per logical line');
    const findings = result.findings ?? [];
    items.push({ label: `Findings (${findings.length})`, kind: vscode.QuickPickItemKind.Separator });
    for (const finding of findings) {
      items.push({
        label: `${SEVERITY_ICON[finding.severity] ?? ''} ${finding.code ?? finding.source}`.trim(),
        description: `${finding.line}:${finding.column} ${finding.source}`,
        detail: finding.message,
        range: new vscode.Range(finding.line - 1, finding.column - 1, finding.endLine - 1, finding.endColumn - 1),
      });
    }
    for (const failure of result.failures ?? []) {
      items.push({ label: '$(alert) Tool problem', detail: failure });
    }
    const picked = await vscode.window.showQuickPick(items, {
      title: `Quality ${score.total ?? '–'}/100 · ${name}`,
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (picked?.range !== undefined) {
      const shown = await vscode.window.showTextDocument(uri);
      shown.selection = new vscode.Selection(picked.range.start, picked.range.end);
      shown.revealRange(picked.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
    return result;
  });

  register('tapps-lsp.clearCache', async () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    let args: unknown[] = [];
    if (folders.length > 1) {
      const all = { label: 'All folders', scope: undefined as string | undefined };
      const picked = await vscode.window.showQuickPick(
        [all, ...folders.map((folder) => ({ label: folder.name, description: folder.uri.fsPath, scope: folder.uri.toString() }))],
        { title: 'Clear the tapps-lsp cache of' },
      );
      if (picked === undefined) {
        return undefined;
      }
      args = picked.scope ? [{ scope: picked.scope }] : [];
    }
    const result = await tapps.execute<{ cleared: string[]; entriesRemoved: number }>('tapps.clearCache', args);
    if (result !== undefined) {
      void vscode.window.showInformationMessage(
        `tapps-lsp: removed ${result.entriesRemoved} cache entries (${result.cleared.length} folder${result.cleared.length === 1 ? '' : 's'}).`,
      );
    }
    return result;
  });

  register('tapps-lsp.showMetrics', async () => {
    if ((await tapps.running()) === undefined) {
      return undefined;
    }
    if (!tapps.serverCommands().includes('tapps.metrics')) {
      void vscode.window.showWarningMessage('This tapps-lsp server has no tapps.metrics command; update it.');
      return undefined;
    }
    const metrics = await tapps.execute<unknown>('tapps.metrics');
    if (metrics !== undefined) {
      await documents.show('metrics', metrics);
    }
    return metrics;
  });

  register('tapps-lsp.restartServer', async () => {
    await tapps.restart();
    if (tapps.client?.isRunning()) {
      void vscode.window.setStatusBarMessage('tapps-lsp restarted', 3000);
    }
  });

  register('tapps-lsp.showDebugInformation', async () => {
    const extension = context.extension;
    const local = {
      extension: extension.packageJSON.version as string,
      editor: `${vscode.env.appName} ${vscode.version}`,
      remote: vscode.env.remoteName ?? null,
      serverCommand: tapps.launch ? [tapps.launch.command, ...tapps.launch.args] : null,
      serverFrom: tapps.launch?.source ?? null,
      serverProblem: tapps.notFound?.problem ?? null,
      interpreter: tapps.launch?.interpreter ?? tapps.notFound?.interpreter ?? null,
      pythonExtension: pythonExtensionInstalled(),
      serverState: tapps.client?.isRunning() ? 'running' : 'stopped',
    };
    let server: unknown = null;
    if (tapps.client?.isRunning()) {
      server = await tapps.execute<unknown>('tapps.printDebugInformation');
    }
    await documents.show('debug-information', { vscode: local, server });
  });

  register('tapps-lsp.runServerCommand', async () => {
    if ((await tapps.running()) === undefined) {
      return undefined;
    }
    const commands = tapps.serverCommands();
    const picked = await vscode.window.showQuickPick(
      commands.map((command) => ({ label: command })),
      { title: 'Run a tapps-lsp server command', placeHolder: 'workspace/executeCommand' },
    );
    if (picked === undefined) {
      return undefined;
    }
    const command = picked.label;
    const raw = await vscode.window.showInputBox({
      title: command,
      prompt: 'Arguments: one JSON object, or empty for none',
      value: argumentTemplate(command),
      validateInput: (text) => {
        if (text.trim() === '') {
          return undefined;
        }
        try {
          JSON.parse(text);
          return undefined;
        } catch (error) {
          return `Not JSON: ${(error as Error).message}`;
        }
      },
    });
    if (raw === undefined) {
      return undefined;
    }
    const parsed: unknown = raw.trim() === '' ? undefined : JSON.parse(raw);
    const args = parsed === undefined ? [] : Array.isArray(parsed) ? parsed : [parsed];
    const result = await tapps.execute<unknown>(command, args, { progressTitle: `tapps-lsp: ${command}` });
    await documents.show(command, result ?? null);
    return result;
  });

  register('tapps-lsp.showLog', () => tapps.output.show());

  register('tapps-lsp.statusProblem', async () => {
    if (tapps.notFound !== undefined) {
      await tapps.showNotFound();
    } else {
      await tapps.restart();
    }
  });
}
