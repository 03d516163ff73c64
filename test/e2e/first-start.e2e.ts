/*
 * The first start, as `scripts/lab` gives it to a learner (issue 14): code-server with the packaged
 * .vsix, containersLab.target "local" (the agent socket on this machine) and connectOnStartup on.
 * Nothing is clicked before the checks of the first test:
 *
 *   the Containers Lab sidebar is open (not the Explorer) and the walkthrough "Get Started with
 *   Containers Lab" is open with its six steps → "Connect" is checked by itself once the extension
 *   has connected (onContext:containersLab.connected) → the "Start busybox container" step's own
 *   button starts a container (the kernel runs it) and checks the step (onCommand) → "Your first
 *   exercise" opens Level 1; Start; its Open Terminal is a terminal on the lab host (this machine)
 *   in the answer folder — /proc/<shell>/cwd says so — where `containers-lab` reaches this
 *   session's agent → a reload does not open the walkthrough again; "Get Started" does
 *   → SIGTERM to the agent (`scripts/lab stop`): every pane says "reconnecting"; a reload while it
 *   is down: every pane says it failed and is retrying; the agent started again: connected by
 *   itself, the busybox container adopted (same PID).
 *
 * The agent's default bridge is clfirst0 on 10.77.160.0/24 (this file's own), removed at the end if
 * this run made it. Screenshots go to test/artifacts/e2e/first-start-*.png.
 */
import { readlinkSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerSummary } from '../../agent/protocol';
import { processExists } from '../helpers/kernel-witness';
import { startService, stopService } from '../helpers/service';
import { openWorkbench, reloadWindow, runCommand, screenshot, sidebarTitle, treeRowTexts, typeInTerminal, viewPane, waitForTerminalText } from './helpers/browser';
import { exercisePage } from './helpers/exercise-page';
import { startLabSession, walkthroughPage, type LabSession } from './helpers/lab-session';

const BRIDGE = 'clfirst0';
const AGENT_ENV = { CONTAINERS_LAB_BRIDGE: BRIDGE, CONTAINERS_LAB_SUBNET: '10.77.160.0/24' };
const LEVEL_ONE = 'a-process';
const STEP_IDS = ['connect', 'startBusybox', 'openShell', 'anatomy', 'topology', 'firstExercise'];

let session: LabSession;
let busybox: ContainerSummary | undefined;
const { panel } = exercisePage(() => session);

/** A step's checkbox (VS Code's own: role=checkbox, aria-checked). */
function stepCheckbox(page: Page, step: string): Locator {
  return page.locator(`[data-done-step-id="containers-lab.containers-lab#gettingStarted#${step}"][role="checkbox"]`).first();
}

/** Waits for a step's check (with the walkthrough's tab in front: a tab behind another editor is not redrawn). */
async function waitForStepDone(page: Page, step: string, timeout = 30_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    // an editor opened by the step's own command may come to the front after a first look
    if (!(await walkthroughPage(page).first().isVisible())) await page.locator('.tabs-container .tab').filter({ hasText: /^Welcome/ }).first().click();
    if ((await stepCheckbox(page, step).getAttribute('aria-checked', { timeout: 1_000 }).catch(() => null)) === 'true') return;
    if (Date.now() > deadline) break;
    await page.waitForTimeout(250);
  }
  await screenshot(page, `first-start-failed-${step}`);
  throw new Error(`the walkthrough step "${step}" was not checked within ${timeout / 1000} s\n${session.diagnostics()}`);
}

/** Expands a step by its title and clicks a button in it (the way a learner follows the walkthrough). */
async function clickStepButton(page: Page, stepTitle: string, button: string): Promise<void> {
  const walkthrough = walkthroughPage(page).first();
  await walkthrough.locator('.step-title', { hasText: stepTitle }).first().click();
  const target = walkthrough.getByRole('button', { name: button, exact: true }).first();
  await target.waitFor({ state: 'visible', timeout: 10_000 });
  await target.click();
}

beforeAll(async () => {
  session = await startLabSession({
    label: 'first-start',
    settings: { 'containersLab.target': 'local', 'containersLab.connectOnStartup': true },
    agentEnv: AGENT_ENV,
    bridges: [BRIDGE],
  });
});

afterAll(async () => {
  await session?.agent.client.call('lab.stop', { id: LEVEL_ONE }).catch(() => undefined);
  await session?.close();
});

describe('the first start of the extension', () => {
  it('opens the Containers Lab sidebar and the walkthrough with its six steps, nothing clicked', async () => {
    const { page } = session;
    // Not session.openWorkbench(): that one closes the walkthrough for the other tests.
    await openWorkbench(page, session.server.url, { folder: session.workspace });
    const walkthrough = walkthroughPage(page).first();
    await walkthrough.waitFor({ state: 'visible', timeout: 120_000 }).catch((error: unknown) => {
      throw new Error(`no walkthrough: ${String(error)}\n${session.diagnostics()}`);
    });
    expect(await sidebarTitle(page)).toMatch(/^containers lab$/i);
    for (const view of ['Lab', 'Containers', 'Networks', 'Exercises']) await viewPane(page, view).first().waitFor({ state: 'visible' });
    const steps = await walkthrough.locator('[data-done-step-id][role="checkbox"]').evaluateAll((elements) => elements.map((element) => element.getAttribute('data-done-step-id')));
    expect(steps).toEqual(STEP_IDS.map((id) => `containers-lab.containers-lab#gettingStarted#${id}`));
    const titles = (await walkthrough.locator('.step-title').allInnerTexts()).map((title) => title.trim());
    expect(titles).toEqual(['Connect to the lab host', 'Start a busybox container', 'Open a shell in it', 'See its anatomy', 'See the topology', 'Your first exercise']);
    await screenshot(page, 'first-start-01-walkthrough');
  });

  it('"Connect" is checked by itself once the extension has connected to the local agent', async () => {
    const { page } = session;
    await waitForStepDone(page, 'connect', 90_000);
    const rows = (await treeRowTexts(viewPane(page, 'Lab'))).join('\n');
    expect(rows).toMatch(/Target\s+this machine/);
    expect(rows).toMatch(/State\s+connected/);
    // the other steps wait for their commands
    expect(await stepCheckbox(page, 'startBusybox').getAttribute('aria-checked')).toBe('false');
  });

  it('the step\'s own button starts a busybox container (the kernel runs it) and checks the step', async () => {
    const { page } = session;
    const before = new Set((await session.containers()).map((summary) => summary.id));
    await clickStepButton(page, 'Start a busybox container', 'Start busybox container');
    await waitForStepDone(page, 'startBusybox');
    const deadline = Date.now() + 90_000;
    while (!busybox && Date.now() < deadline) {
      busybox = (await session.containers()).find((summary) => !before.has(summary.id) && summary.status === 'running');
      if (!busybox) await page.waitForTimeout(200);
    }
    expect(busybox, 'no new running container').toBeDefined();
    expect(processExists(busybox!.pid!)).toBe(true);
    await screenshot(page, 'first-start-02-busybox');
  });

  it('"Your first exercise" opens Level 1; its Open Terminal is a lab-host shell in the answer folder where containers-lab reaches this agent', async () => {
    const { page } = session;
    const level = await session.agent.client.call('lab.show', { id: LEVEL_ONE });
    await clickStepButton(page, 'Your first exercise', 'Open Level 1');
    await waitForStepDone(page, 'firstExercise');
    await page.locator('.tabs-container .tab').filter({ hasText: `Exercise: ${level.title}` }).first().click();
    const frame = await panel(page, level.title);
    await frame.locator('#start').click();
    await frame.locator('#start', { hasText: 'Reset' }).waitFor({ timeout: 60_000 });
    await frame.locator('#open-terminal').click();
    await page.locator('.terminal-tab, .tabs-container .tab, .single-terminal-tab').filter({ hasText: `Lab host: ${level.title}` }).first().waitFor({ timeout: 30_000 });
    await waitForTerminalText(page, /[#$]\s*$/m, 30_000);
    await typeInTerminal(page, 'echo "shell=$$ at $(pwd)"; command -v containers-lab; containers-lab ps');
    const text = await waitForTerminalText(page, new RegExp(`${busybox!.name}`), 30_000);
    // The kernel's word for where the shell is: /proc/<pid>/cwd.
    const shell = Number(/shell=(\d+) at /.exec(text)?.[1]);
    expect(shell, text).toBeGreaterThan(0);
    expect(readlinkSync(`/proc/${shell}/cwd`)).toBe(level.workdir);
    expect(text).toContain(`at ${level.workdir}`);
    // containers-lab is the extension's own script, first on PATH
    expect(text).toMatch(/\n\S+\/bin\/containers-lab\s*\n/);
    await screenshot(page, 'first-start-03-exercise-terminal');
  });

  it('a reload does not open the walkthrough again; "Containers Lab: Get Started" does', async () => {
    const { page } = session;
    const tab = page.locator('.tabs-container .tab').filter({ hasText: /^Welcome/ }).first();
    await tab.click();
    await page.keyboard.press('Control+W');
    await walkthroughPage(page).first().waitFor({ state: 'hidden', timeout: 15_000 });
    await reloadWindow(page);
    // activated again (and connected by itself) — the time a first start would have opened it
    await page.locator('.part.statusbar', { hasText: 'this machine' }).first().waitFor({ timeout: 120_000 });
    await page.waitForTimeout(3_000);
    expect(await walkthroughPage(page).count()).toBe(0);
    await runCommand(page, 'Containers Lab: Get Started');
    await walkthroughPage(page).first().waitFor({ state: 'visible', timeout: 30_000 });
    // progress is VS Code's to keep: the steps done before the reload are still checked
    expect(await stepCheckbox(page, 'startBusybox').getAttribute('aria-checked')).toBe('true');
    await screenshot(page, 'first-start-04-get-started-again');
  });

  it('the agent stopped and started again: every pane says the same, a reload while it is down retries, and it reconnects by itself', async () => {
    const { page } = session;
    const pane = (title: string): Promise<string> => viewPane(page, title).first().innerText();
    // scripts/lab stop: SIGTERM to the agent's PID (the extension is connected to it meanwhile)
    await stopService(session.agent);
    await expect.poll(async () => (await treeRowTexts(viewPane(page, 'Lab'))).join('\n'), { timeout: 20_000 }).toMatch(/State\s+reconnecting/);
    for (const view of ['Containers', 'Networks']) await expect.poll(() => pane(view), { timeout: 10_000 }).toContain('Reconnecting to this machine…');
    await screenshot(page, 'first-start-05-agent-stopped');

    // a reload while the agent is down: the first connect fails, and the window keeps trying
    await reloadWindow(page);
    await expect.poll(async () => (await treeRowTexts(viewPane(page, 'Lab'))).join('\n'), { timeout: 120_000 }).toMatch(/State\s+failed — no agent answers .*retrying in/);
    await screenshot(page, 'first-start-06-reloaded-agent-down');
    for (const view of ['Containers', 'Networks', 'Exercises']) {
      await expect.poll(() => pane(view), { timeout: 10_000 }).toContain('The lab host did not answer; the extension tries again by itself');
    }

    // the agent is back: connected without a click, and the container it left running adopted
    const revived = await startService(session.stateRoot, session.socketPath, [], AGENT_ENV);
    try {
      await expect.poll(async () => (await treeRowTexts(viewPane(page, 'Lab'))).join('\n'), { timeout: 60_000 }).toMatch(/State\s+connected/);
      const adopted = await revived.client.call('container.inspect', { id: busybox!.id });
      expect([adopted.status, adopted.pid]).toEqual(['running', busybox!.pid]);
      await expect.poll(async () => treeRowTexts(viewPane(page, 'Containers')), { timeout: 30_000 }).toContainEqual(expect.stringMatching(new RegExp(`^${busybox!.name} running`)));
      await screenshot(page, 'first-start-07-reconnected');
    } finally {
      // what this file made goes with the agent that has it now (the session's own client is closed)
      await revived.client.call('lab.stop', { id: LEVEL_ONE }).catch(() => undefined);
      if (busybox) await revived.client.call('container.remove', { id: busybox.id, force: true });
      await stopService(revived);
    }
  });
});
