// One language client for the window, started from the command `findServer` picks.
import * as vscode from 'vscode';
import {
  CancellationToken,
  DidChangeConfigurationNotification,
  ExecuteCommandParams,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  State,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressBegin,
  WorkDoneProgressReport,
  WorkDoneProgressEnd,
} from 'vscode-languageclient/node';
import { Launch, NotFound, findServer, isLaunch } from './launch';
import { selectedInterpreter } from './python';
import { LAUNCH_KEYS, SECTION, serverSettings } from './settings';
import { ScoreStatus } from './statusBar';
import { workspaceTrusted } from './trust';

export const CLIENT_ID = 'tapps';
export const CLIENT_NAME = 'tapps-lsp';

type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

export interface CommandOptions {
  /** Show the server's `$/progress` for this command in a cancellable notification. */
  progressTitle?: string;
  /** Also told every progress message (undefined at the end). */
  onProgress?: (message: string | undefined) => void;
}

export class TappsClient implements vscode.Disposable {
  readonly output = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
  readonly trace = vscode.window.createOutputChannel(`${CLIENT_NAME} Trace`, { log: true });
  client: LanguageClient | undefined;
  launch: Launch | undefined;
  notFound: NotFound | undefined;
  private readonly selected = new Map<string, string | undefined>();
  private transition: Promise<void> = Promise.resolve();
  private tokenCounter = 0;

  constructor(private readonly status: ScoreStatus) {}

  /** Start, stop and restart queue up: one transition at a time. */
  private queue(step: () => Promise<void>): Promise<void> {
    this.transition = this.transition.then(step, step);
    return this.transition;
  }

  start(): Promise<void> {
    return this.queue(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.queue(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.queue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  private async doStart(): Promise<void> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    const first = folders[0];
    this.selected.clear();
    for (const folder of folders) {
      // In a workspace not trusted, the Python extension's choice is likely its `.venv`.
      const selected = workspaceTrusted() ? await selectedInterpreter(folder) : undefined;
      this.selected.set(folder.uri.toString(), selected);
    }
    const found = await findServer(first);
    if (!isLaunch(found)) {
      this.launch = undefined;
      this.notFound = found;
      this.output.error(`${found.problem} Install it with: ${found.installCommand}`);
      this.status.setProblem(`${found.problem} Click to retry.`);
      void this.showNotFound();
      return;
    }
    this.notFound = undefined;
    this.launch = found;
    this.output.info(`starting ${[found.command, ...found.args].join(' ')} (from ${found.source})`);

    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', language: 'python' }],
      outputChannel: this.output,
      traceOutputChannel: this.trace,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // `trustedWorkspace` goes in initializationOptions only (the server reads it nowhere
      // else); a grant of trust restarts the server (extension.ts).
      initializationOptions: () => ({
        [SECTION]: { ...serverSettings(first?.uri, this.selectedFor(first?.uri)), trustedWorkspace: workspaceTrusted() },
      }),
      // The server reviews on open and save; it asks for a refresh when a newer result is ready.
      diagnosticPullOptions: { onChange: false, onSave: true },
      middleware: {
        workspace: {
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) {
              return answers;
            }
            return params.items.map((item, index) => {
              if (item.section !== SECTION) {
                return answers[index];
              }
              const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : first?.uri;
              return serverSettings(scope, this.selectedFor(scope));
            });
          },
        },
        provideDiagnostics: async (document, previousResultId, token, next) => {
          const uri = document instanceof vscode.Uri ? document : document.uri;
          this.status.documentBusy(uri, true);
          try {
            return await next(document, previousResultId, token);
          } finally {
            this.status.documentBusy(uri, false);
          }
        },
      },
    };
    const client = new LanguageClient(
      CLIENT_ID,
      CLIENT_NAME,
      {
        command: found.command,
        args: found.args,
        options: { cwd: first?.uri.fsPath, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
      },
      clientOptions,
    );
    this.client = client;
    client.onDidChangeState((event) => {
      if (event.newState === State.Stopped && this.client === client) {
        this.status.setProblem('The tapps-lsp server stopped. Click to restart it.');
      } else if (event.newState === State.Running) {
        this.status.setProblem(undefined);
      }
    });
    try {
      await client.start();
      this.status.setProblem(undefined);
    } catch (error) {
      this.output.error(`the server did not start: ${String(error)}`);
      this.status.setProblem(`tapps-lsp did not start: ${String(error)}. Click to restart it.`);
      void vscode.window
        .showErrorMessage(`tapps-lsp did not start (${found.command}): ${String(error)}`, 'Show Log')
        .then((choice) => choice && this.output.show());
    }
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.output.warn(`stopping the server: ${String(error)}`);
      }
      await client.dispose().catch(() => undefined);
    }
  }

  private selectedFor(scope: vscode.Uri | undefined): string | undefined {
    if (scope === undefined) {
      return undefined;
    }
    const folder = vscode.workspace.getWorkspaceFolder(scope);
    return folder ? this.selected.get(folder.uri.toString()) : undefined;
  }

  async showNotFound(): Promise<void> {
    const found = this.notFound;
    if (found === undefined) {
      return;
    }
    const copy = 'Copy Install Command';
    const settings = 'Open Settings';
    const retry = 'Retry';
    const choice = await vscode.window.showErrorMessage(
      `${found.problem} Install it with \`${found.installCommand}\`, or set tapps.path.`,
      copy,
      settings,
      retry,
    );
    if (choice === copy) {
      await vscode.env.clipboard.writeText(found.installCommand);
    } else if (choice === settings) {
      await vscode.commands.executeCommand('workbench.action.openSettings', '@ext:tapps.tapps-lsp');
    } else if (choice === retry) {
      await this.restart();
    }
  }

  /** Settings changed: restart for launch settings, else let the server pull the rest. */
  async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (LAUNCH_KEYS.some((key) => event.affectsConfiguration(key))) {
      await this.restart();
      return;
    }
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    const client = this.client;
    if (client?.isRunning()) {
      // No settings in the notification: the server asks for them (workspace/configuration),
      // and our middleware answers with what the user set.
      await client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    }
  }

  /** The running client, or undefined after telling the user why there is none. */
  async running(): Promise<LanguageClient | undefined> {
    await this.transition;
    if (this.client?.isRunning()) {
      return this.client;
    }
    if (this.notFound !== undefined) {
      await this.showNotFound();
    } else {
      const restart = 'Restart Server';
      const choice = await vscode.window.showErrorMessage('The tapps-lsp server is not running.', restart, 'Show Log');
      if (choice === restart) {
        await this.restart();
      } else if (choice === 'Show Log') {
        this.output.show();
      }
    }
    return undefined;
  }

  /** Every command the server lists in `executeCommandProvider`. */
  serverCommands(): string[] {
    return [...(this.client?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [])].sort();
  }

  /** `workspace/executeCommand`, with the server's progress shown when asked for. */
  async execute<T>(command: string, args: unknown[] = [], options: CommandOptions = {}): Promise<T | undefined> {
    const client = await this.running();
    if (client === undefined) {
      return undefined;
    }
    // No `arguments` at all when there are none: pygls structures an `arguments` array,
    // even an empty one, against the handler's annotations.
    const params: ExecuteCommandParams = args.length > 0 ? { command, arguments: args } : { command };
    if (options.progressTitle === undefined) {
      return (await client.sendRequest(ExecuteCommandRequest.type, params)) as T;
    }
    const token = `tapps-lsp-vscode-${process.pid}-${++this.tokenCounter}`;
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: options.progressTitle, cancellable: true },
      async (progress, cancel: CancellationToken) => {
        let shown = 0;
        const subscription = client.onProgress(WorkDoneProgress.type, token, (value: ProgressValue) => {
          if (value.kind === 'end') {
            options.onProgress?.(undefined);
            return;
          }
          const percentage = value.percentage ?? shown;
          progress.report({ message: value.message, increment: Math.max(0, percentage - shown) });
          shown = Math.max(shown, percentage);
          options.onProgress?.(value.message ?? `${percentage}%`);
        });
        // Cancelling the progress asks the server to stop the batch and answer with
        // what it has done, rather than dropping the whole request.
        const onCancel = cancel.onCancellationRequested(() => {
          void client.sendNotification(WorkDoneProgressCancelNotification.type, { token });
        });
        options.onProgress?.('starting');
        try {
          return (await client.sendRequest(ExecuteCommandRequest.type, { ...params, workDoneToken: token })) as T;
        } finally {
          subscription.dispose();
          onCancel.dispose();
          options.onProgress?.(undefined);
        }
      },
    );
  }

  dispose(): void {
    void this.stop();
    this.output.dispose();
    this.trace.dispose();
  }
}
