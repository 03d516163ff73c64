/*
 * "Apply Pod YAML": the active editor's text goes to the agent as `containers-lab apply -f` sends
 * a file (pod.apply). The agent admits it as the API server would; what it refuses comes back
 * naming the field path and the line, and each such problem becomes a diagnostic on that line of
 * the document (the Problems panel lists them). An apply that succeeds clears them. A progress
 * notification follows the pod from the apply until its containers run (or it settles otherwise),
 * from the agent's pod.changed notifications.
 */
import * as vscode from 'vscode';
import type { PodSummary } from '../../agent/protocol';
import type { Lab } from '../lab';
import { errorMessage } from '../output';
import { applyProblems, manifestFileName, problemColumns, unlistedProblems } from '../views/pods/apply-problems';
import type { PodsProvider } from '../views/pods/pods-provider';
import { registerLabCommand } from './register';

/** How long the progress notification follows a new pod before leaving it to the Pods view. */
const FOLLOW_MS = 60_000;
/** kubectl's STATUS values of a pod still on its way up. */
const COMING_UP = /^(Pending|Init:|PodInitializing|ContainerCreating)/;

async function targetDocument(argument: unknown): Promise<vscode.TextDocument> {
  if (argument instanceof vscode.Uri) {
    return vscode.workspace.textDocuments.find((document) => document.uri.toString() === argument.toString()) ?? vscode.workspace.openTextDocument(argument);
  }
  const editor = vscode.window.activeTextEditor;
  if (!editor) throw new Error('Open a Pod YAML file in the editor first (Apply Pod YAML sends the active editor\'s text).');
  return editor.document;
}

/** The agent's problems with `document` as diagnostics on their lines (none: the error is not about a place in it). */
export function toDiagnostics(document: vscode.TextDocument, message: string, file: string): vscode.Diagnostic[] {
  const problems = applyProblems(message, file);
  const diagnostics = problems.map((problem) => {
    const line = Math.min(problem.line, document.lineCount) - 1;
    const { start, end } = problemColumns(document.lineAt(line).text, problem.path);
    const diagnostic = new vscode.Diagnostic(new vscode.Range(line, start, line, end), problem.path && !problem.message.includes(problem.path) ? `${problem.path}: ${problem.message}` : problem.message, vscode.DiagnosticSeverity.Error);
    diagnostic.source = 'containers-lab apply';
    return diagnostic;
  });
  const more = unlistedProblems(message);
  if (more > 0 && diagnostics.length > 0) diagnostics[diagnostics.length - 1]!.message += ` (and ${more} more: fix these and apply again)`;
  return diagnostics;
}

export function registerApplyPodCommand(lab: Lab, pods: PodsProvider): vscode.DiagnosticCollection {
  const diagnostics = vscode.languages.createDiagnosticCollection('containers-lab-pods');
  lab.context.subscriptions.push(diagnostics, vscode.workspace.onDidCloseTextDocument((document) => diagnostics.delete(document.uri)));

  registerLabCommand(lab, 'containersLab.applyPodYaml', async (argument?: unknown) => {
    const document = await targetDocument(argument);
    const client = await lab.ensureConnected();
    const file = manifestFileName(document.uri.scheme === 'file' ? document.uri.fsPath : document.uri.path || document.fileName);
    const text = document.getText();
    lab.output.info(`apply ${file} (${document.uri.toString()})…`);
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Containers Lab: applying ${file}`, cancellable: true },
      async (progress, token) => {
        let applied: { name: string; action: 'created' | 'unchanged' };
        // Changes of the pod that arrive while the apply is answered are kept for the follow below.
        let latest: PodSummary | undefined;
        const changes = new vscode.EventEmitter<PodSummary>();
        const listening = lab.onNotification('pod.changed', ({ summary }) => {
          latest = summary;
          changes.fire(summary);
        });
        try {
          progress.report({ message: 'validating and creating…' });
          try {
            applied = await client.call('pod.apply', { yaml: text, file }, { timeoutMs: 120_000 });
          } catch (error) {
            const found = toDiagnostics(document, errorMessage(error), file);
            diagnostics.set(document.uri, found);
            lab.output.error(`apply ${file} refused${found.length > 0 ? ` (${found.length} problem${found.length === 1 ? '' : 's'} marked in the editor)` : ''}`, error);
            throw error;
          }
          diagnostics.delete(document.uri);
          lab.output.info(`pod/${applied.name} ${applied.action}`);
          await pods.reveal(applied.name).catch(() => undefined);
          if (applied.action === 'unchanged') {
            void vscode.window.showInformationMessage(`pod/${applied.name} unchanged`);
            return applied;
          }
          // Follow it up: "Init:0/1", "PodInitializing", "Running" — until it settles, or the user dismisses it.
          const current = (): PodSummary | undefined => (latest?.name === applied.name ? latest : undefined);
          await new Promise<void>((resolve) => {
            const done = (): void => {
              clearTimeout(timer);
              sub.dispose();
              cancel.dispose();
              resolve();
            };
            const check = (summary: PodSummary | undefined): void => {
              if (!summary || summary.name !== applied.name) return;
              progress.report({ message: `${summary.status} · ${summary.ready} ready` });
              if (!COMING_UP.test(summary.status)) done();
            };
            const timer = setTimeout(done, FOLLOW_MS);
            const sub = changes.event(check);
            const cancel = token.onCancellationRequested(done);
            check(current());
          });
          const settled = current();
          lab.output.info(`pod/${applied.name}: ${settled ? `${settled.status}, ${settled.ready} ready` : 'created'}`);
          void vscode.window.showInformationMessage(`pod/${applied.name} created${settled ? `: ${settled.status}` : ''}`);
          return applied;
        } finally {
          listening.dispose();
          changes.dispose();
        }
      },
    );
  });
  return diagnostics;
}
