// Review workflows: the pick of Run Workflow… (`tapps.listWorkflows`) and the summary of a
// run (`tapps.runWorkflow`'s answer). The command itself is in commands.ts.
import * as vscode from 'vscode';

export interface WorkflowStep {
  id: string;
  uses: string;
  needs: string[];
}

export interface Workflow {
  name: string;
  preset: boolean;
  origin: string;
  trusted: boolean;
  steps: WorkflowStep[];
}

export interface WorkflowList {
  workflows: Workflow[];
  problems: string[];
}

export interface RunReport {
  workflow: string;
  state: string;
  files: number;
  findings: { total: number; bySource: Record<string, number> };
  failures: Array<{ step: string; error: string | null }>;
  skipped: Array<{ step: string; reason: string | null }>;
}

/** What `tapps.runWorkflow` answers; a run stopped before its end has no report. */
export interface RunAnswer {
  runId: string;
  state: string;
  report?: RunReport;
}

const ORIGIN: Record<string, string> = {
  preset: 'preset',
  pyproject: 'pyproject.toml',
  'workspace-settings': 'workspace settings',
  client: 'settings',
};

// Step kinds that run a program: refused in a workflow its origin does not trust.
const PROGRAM_KINDS = new Set(['command', 'tests']);

export type WorkflowItem = vscode.QuickPickItem & { workflow: string };

export function workflowItems(list: WorkflowList): WorkflowItem[] {
  return list.workflows.map((workflow) => {
    const refused = !workflow.trusted && workflow.steps.some((step) => PROGRAM_KINDS.has(step.uses));
    const origin = ORIGIN[workflow.origin] ?? workflow.origin;
    return {
      label: workflow.name,
      description: workflow.steps.map((step) => step.uses).join(', '),
      detail: refused ? `${origin} · not trusted: its command and tests steps will not run` : origin,
      workflow: workflow.name,
    };
  });
}

/** `standard: done · 6 findings · 2.1 s`, and whether it is a failure to show as one. */
export function runSummary(name: string, answer: RunAnswer, seconds: number): { text: string; failed: boolean } {
  const report = answer.report;
  const parts = [`${name}: ${answer.state}`];
  if (report !== undefined) {
    const total = report.findings?.total ?? 0;
    parts.push(`${total} finding${total === 1 ? '' : 's'}`);
    // A cancelled run lists its cancelled steps among the failures: its state says it.
    if (answer.state !== 'cancelled') {
      for (const failure of report.failures ?? []) {
        parts.push(failure.error ? `${failure.step} failed: ${failure.error}` : `${failure.step} failed`);
      }
    }
    if ((report.skipped ?? []).length > 0) {
      parts.push(`skipped: ${report.skipped.map((skip) => skip.step).join(', ')}`);
    }
  }
  parts.push(`${seconds.toFixed(1)} s`);
  const failed = answer.state === 'failed' || (answer.state !== 'cancelled' && (report?.failures ?? []).length > 0);
  return { text: parts.join(' · '), failed };
}
