// The status bar item: the active Python file's quality score, a spinner while a review
// runs (a workspace review, or the server working on the active file), a click opens
// the breakdown.
import * as vscode from 'vscode';

export const SCORE_SOURCE = 'tapps';
export const SCORE_CODE = 'score';

export interface ScoreInfo {
  total: number | undefined;
  message: string;
  low: boolean;
}

/** The score diagnostic the server publishes on line 1 (source `tapps`, code `score`). */
export function scoreOf(uri: vscode.Uri): ScoreInfo | undefined {
  for (const diagnostic of vscode.languages.getDiagnostics(uri)) {
    const code = typeof diagnostic.code === 'object' ? diagnostic.code.value : diagnostic.code;
    if (diagnostic.source !== SCORE_SOURCE || code !== SCORE_CODE) {
      continue;
    }
    // vscode-languageclient keeps the LSP `data` on the diagnostic it creates.
    const data = (diagnostic as { data?: { score?: { total?: unknown } } }).data;
    let total = typeof data?.score?.total === 'number' ? data.score.total : undefined;
    if (total === undefined) {
      const match = /(\d+)\s*\/\s*100/.exec(diagnostic.message);
      total = match ? Number(match[1]) : undefined;
    }
    return {
      total,
      message: diagnostic.message,
      low: diagnostic.severity === vscode.DiagnosticSeverity.Warning,
    };
  }
  return undefined;
}

export class ScoreStatus implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly busyDocuments = new Map<string, number>();
  private workspaceReview: string | undefined;
  private workspaceReviewTitle = 'Reviewing the workspace';
  private problem: string | undefined;

  constructor(
    private readonly showCommand: string,
    private readonly problemCommand: string,
  ) {
    this.item = vscode.window.createStatusBarItem('tapps.score', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'tapps-lsp score';
    this.item.command = showCommand;
    this.disposables.push(
      this.item,
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.languages.onDidChangeDiagnostics((event) => {
        const active = vscode.window.activeTextEditor?.document.uri.toString();
        if (active !== undefined && event.uris.some((uri) => uri.toString() === active)) {
          this.update();
        }
      }),
    );
    this.update();
  }

  /** The server is working on `uri` (a diagnostic pull is in flight). */
  documentBusy(uri: vscode.Uri, busy: boolean): void {
    const key = uri.toString();
    const count = (this.busyDocuments.get(key) ?? 0) + (busy ? 1 : -1);
    if (count > 0) {
      this.busyDocuments.set(key, count);
    } else {
      this.busyDocuments.delete(key);
    }
    this.update();
  }

  /** A workspace review or a workflow runs (`message`: its progress), or ended (undefined). */
  workspaceProgress(message: string | undefined, title = 'Reviewing the workspace'): void {
    this.workspaceReview = message;
    this.workspaceReviewTitle = title;
    this.update();
  }

  /** The server cannot run (not found, crashed): show it, and what a click does. */
  setProblem(problem: string | undefined): void {
    this.problem = problem;
    this.update();
  }

  update(): void {
    const item = this.item;
    const document = vscode.window.activeTextEditor?.document;
    if (this.problem !== undefined) {
      item.text = '$(warning) Tapps';
      item.tooltip = this.problem;
      item.command = this.problemCommand;
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      item.show();
      return;
    }
    item.command = this.showCommand;
    const isPython = document?.languageId === 'python' && document.uri.scheme === 'file';
    if (!isPython && this.workspaceReview === undefined) {
      item.hide();
      return;
    }
    const score = isPython && document ? scoreOf(document.uri) : undefined;
    const busy =
      this.workspaceReview !== undefined ||
      (document !== undefined && this.busyDocuments.has(document.uri.toString()));
    const shown = score?.total !== undefined ? `${score.total}` : score ? '–' : '…';
    const icon = busy ? '$(sync~spin)' : score?.low ? '$(warning)' : '$(pass)';
    item.text = `${icon} Tapps ${isPython ? shown : ''}`.trimEnd();
    const tooltip = new vscode.MarkdownString();
    if (this.workspaceReview !== undefined) {
      tooltip.appendMarkdown(`**${escape(this.workspaceReviewTitle)}:** ${escape(this.workspaceReview)}\n\n`);
    }
    if (isPython) {
      tooltip.appendMarkdown(score ? escape(score.message) : 'Waiting for the score…');
      tooltip.appendMarkdown('\n\nClick for the breakdown.');
    }
    item.tooltip = tooltip;
    item.backgroundColor = score?.low ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    item.accessibilityInformation = {
      label: score?.total !== undefined ? `tapps-lsp quality score ${score.total} of 100` : 'tapps-lsp score',
    };
    item.show();
  }

  dispose(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
