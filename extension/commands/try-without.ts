/*
 * "Try Container Without a Protection…": starts a copy of a container with one protection switched
 * (seccomp off, every capability, every device, the host's keyring, no pids limit…) and opens its
 * Anatomy beside the original's, so a learner can run the same command in both and see what the
 * protection held back. The Anatomy page's "Try without" buttons run this command with the
 * container and the protection; from the palette it asks for both.
 *
 * The copy's options come from the original's config.json (webviews/anatomy/copy-options.ts) and
 * are run with the same container.run as "Start busybox container" (./start-busybox.ts).
 */
import * as vscode from 'vscode';
import type { ContainerSummary } from '../../agent/protocol';
import type { Lab } from '../lab';
import { tryCopy } from '../webviews/anatomy/copy-options';
import { PROTECTIONS, securityRows, type Protection } from '../webviews/anatomy/security-rows';
import { Cancelled } from './cancelled';
import { registerLabCommand } from './register';
import { resolveContainer } from './resolve-container';
import { startContainer } from './start-busybox';

export const TRY_WITHOUT_COMMAND = 'containersLab.tryWithout';

/** How the new container's Anatomy is shown (given by the Anatomy panel's module: no import cycle). */
export type ShowAnatomy = (summary: Pick<ContainerSummary, 'id' | 'name'>, column: vscode.ViewColumn) => void;

function isProtection(value: unknown): value is Protection {
  return typeof value === 'string' && (PROTECTIONS as readonly string[]).includes(value);
}

export function registerTryWithoutCommand(lab: Lab, showAnatomy: ShowAnatomy): void {
  registerLabCommand(lab, TRY_WITHOUT_COMMAND, async (argument?: unknown, protectionArgument?: unknown) => {
    const client = await lab.ensureConnected();
    const summary = await resolveContainer(lab, argument, { placeHolder: 'Start a copy of which container?', none: 'There are no containers.', takeSingle: true });
    const record = await client.call('container.inspect', { id: summary.id });
    const rows = securityRows(record);
    let protection: Protection;
    if (isProtection(protectionArgument)) {
      protection = protectionArgument;
    } else {
      const picked = await vscode.window.showQuickPick(
        rows.map((row) => ({ label: `${row.action.label}: ${row.label}`, description: row.action.change, detail: row.protects, protection: row.protection })),
        { title: `Start a copy of ${record.name} with one protection switched`, placeHolder: 'Which protection?', ignoreFocusOut: true },
      );
      if (!picked) throw new Cancelled();
      protection = picked.protection;
    }
    const copy = tryCopy(record, protection, lab.store.list().map((entry) => entry.name));
    lab.output.info(`${record.name} → ${copy.name}: the same container, with ${copy.change}`);
    const started = await startContainer(lab, copy.options);
    showAnatomy(started, vscode.ViewColumn.Beside);
    return started.id;
  });
}
