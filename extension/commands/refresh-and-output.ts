/*
 * "Refresh" re-reads everything once (agent.info, the container list, a network snapshot) — for
 * when the user wants to be sure; normal updates come from notifications. "Show Output" opens the
 * extension's log channel.
 */
import type { Lab } from '../lab';
import { registerLabCommand } from './register';

export function registerRefreshAndOutputCommands(lab: Lab, refreshLabView: () => Promise<void>): void {
  registerLabCommand(lab, 'containersLab.refresh', async () => {
    await lab.ensureConnected();
    await Promise.all([refreshLabView(), lab.store.load()]);
    lab.networks.reload();
  });

  registerLabCommand(lab, 'containersLab.showOutput', () => {
    lab.output.show();
  });
}
