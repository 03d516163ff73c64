/*
 * What a learner waits for in VS Code: from choosing "Containers Lab: Start busybox container" in
 * the command palette until the container runs, and from "Open Shell in Container" until the
 * shell's prompt is on screen. Target: under 2 s over loopback SSH.
 *
 * Everything on the path is the real thing, as in the end-to-end test (test/e2e/sidebar.e2e.ts):
 *
 *   headless Chromium ── the VS Code workbench served by code-server (the packaged .vsix installed)
 *        │                   extension host ── ssh2 ── OpenSSH on 127.0.0.1 (throwaway keys)
 *        │                                                 └─ streamlocal ── agent socket ── agent
 *        └─ timestamps from the page itself                                      │
 *   this process ── its own client on the agent socket ── container.changed ─────┘
 *
 * The clocks. Each run starts at the `pointerdown` on the palette row (recorded by the page, so
 * the benchmark's own typing and Playwright's round trips are not counted), and ends at:
 *   running      the agent's `container.changed` → running notification, received by this process
 *                on its own socket connection (and checked against the kernel: the PID it names is
 *                alive in its own PID namespace);
 *   tree node    the first animation frame in which the Containers view's DOM shows the
 *                container's row (checked by the page on every frame: waitForFunction, 'raf');
 *   prompt       the first frame in which the terminal's DOM shows busybox's `/ # ` (xterm renders
 *                rows as DOM text with GPU acceleration off).
 * Page and process read the same system clock (Date.now()), so the stamps compare directly.
 * "→ shell prompt" is what the learner waits in all: start → tree node, plus Open Shell → prompt.
 *
 * Between runs, outside the clocks: `exit` in the shell (its terminal closes), the container is
 * removed through the agent, the node leaves the tree.
 *
 * The rig — sshd, the agent, code-server with the .vsix, Chromium, connect, and the cleanup that
 * says what was left — is ./code-server-rig.ts, shared with the topology benchmark.
 */
import type { Page } from 'playwright-core';
import type { ContainerSummary } from '../agent/protocol';
import { nsInode, processExists } from '../test/helpers/kernel-witness';
import { closeRig, codeServerRigUnavailable, newRig, openRig, paletteRow, runCount, STEP_TIMEOUT_MS, type Rig } from './code-server-rig';
import type { BenchService } from './service';
import { summarize, type Summary } from './stats';

export const EXTENSION_RUNS = runCount(10, 2);
export const EXTENSION_WARMUP = 1;
export const EXTENSION_TARGET_MS = 2000;

const START_TITLE = 'Containers Lab: Start busybox container';
const SHELL_TITLE = 'Containers Lab: Open Shell in Container';
const BUSYBOX_NAME = '^busybox-\\d+$';
/** "Start busybox container" puts containers on the lab's default bridge. */
const LAB_BRIDGE = 'cl0';

export interface ExtensionBenchResult {
  runs: number;
  /** Palette click → the agent reports the container running. */
  running: Summary;
  /** Palette click → the container's node is in the Containers view. */
  treeNode: Summary;
  /** "Open Shell" click → `/ # ` in the terminal. */
  shell: Summary;
  /** Start → tree node, plus Open Shell → prompt: the learner's whole wait. */
  toPrompt: Summary;
  /** Seconds to start sshd, agent and code-server, open the workbench and connect (not timed per run). */
  setupSeconds: number;
}

/** Why the extension benchmark cannot run on this machine, or null when it can. */
export const extensionBenchUnavailable = codeServerRigUnavailable;

/** Runs the benchmark; `say` prints progress, `warnings` collects what was left behind. */
export async function benchExtension(say: (line: string) => void, warnings: string[]): Promise<ExtensionBenchResult> {
  const rig = newRig({
    label: 'bench',
    owner: 'the extension benchmark',
    bridges: [LAB_BRIDGE],
    // xterm renders rows as DOM text (not a canvas), so the page can see the prompt
    settings: { 'terminal.integrated.gpuAcceleration': 'off' },
  });
  try {
    const setupStart = Date.now();
    const page = await openRig(rig, say);
    const setupSeconds = (Date.now() - setupStart) / 1000;
    const samples = { running: [] as number[], treeNode: [] as number[], shell: [] as number[], toPrompt: [] as number[] };
    say(`  ${EXTENSION_RUNS} timed runs after ${EXTENSION_WARMUP} warm-up`);
    for (let run = 0; run < EXTENSION_WARMUP + EXTENSION_RUNS; run++) {
      const one = await startAndOpenShell(page, rig);
      if (run < EXTENSION_WARMUP) continue;
      samples.running.push(one.running);
      samples.treeNode.push(one.treeNode);
      samples.shell.push(one.shell);
      samples.toPrompt.push(one.treeNode + one.shell);
    }
    return {
      runs: EXTENSION_RUNS,
      running: summarize(samples.running),
      treeNode: summarize(samples.treeNode),
      shell: summarize(samples.shell),
      toPrompt: summarize(samples.toPrompt),
      setupSeconds,
    };
  } finally {
    await closeRig(rig, warnings);
  }
}

// --- one timed run ------------------------------------------------------------------------------

interface RunTimes {
  running: number;
  treeNode: number;
  shell: number;
}

async function startAndOpenShell(page: Page, rig: Rig): Promise<RunTimes> {
  const agent = rig.agent!;
  const running = nextRunningEvent(agent);
  try {
    // 1. Start busybox container: palette click → running (agent) and → node in the tree (page).
    const startRow = await paletteRow(page, START_TITLE);
    await markPointerDown(page);
    await startRow.click();
    const treeAt = await waitInPage(page, containerRowProbe, { pattern: BUSYBOX_NAME, present: true });
    const started = await running.event;
    rig.containerIds.add(started.summary.id);
    const startAt = await pointerDownAt(page);
    const pid = started.summary.pid;
    if (pid === null || !processExists(pid) || nsInode(pid, 'pid') === nsInode('self', 'pid')) {
      throw new Error(`the agent said ${started.summary.name} runs, but the kernel disagrees (PID ${pid} missing or in the host's PID namespace)`);
    }

    // 2. Open Shell in Container: palette click → `/ # ` in the terminal.
    const shellRow = await paletteRow(page, SHELL_TITLE);
    await markPointerDown(page);
    await shellRow.click();
    const promptAt = await waitInPage(page, promptProbe, { pattern: '', present: true }); // (the prompt probe needs no query)
    const shellAt = await pointerDownAt(page);

    // 3. Untimed: leave the shell (its terminal closes), remove the container, see the node go.
    await closeShell(page);
    await agent.client.call('container.remove', { id: started.summary.id, force: true }, { timeoutMs: STEP_TIMEOUT_MS });
    await waitInPage(page, containerRowProbe, { pattern: BUSYBOX_NAME, present: false });
    return { running: started.at - startAt, treeNode: treeAt - startAt, shell: promptAt - shellAt };
  } finally {
    running.cancel();
  }
}

/** The next container.changed → running notification on the benchmark's own agent connection. */
function nextRunningEvent(agent: BenchService): { event: Promise<{ at: number; summary: ContainerSummary }>; cancel(): void } {
  let off = (): void => undefined;
  let timer: NodeJS.Timeout | undefined;
  const event = new Promise<{ at: number; summary: ContainerSummary }>((resolve, reject) => {
    off = agent.client.on('container.changed', (change) => {
      if (change.status !== 'running') return;
      off();
      clearTimeout(timer);
      resolve({ at: Date.now(), summary: change.summary });
    });
    timer = setTimeout(() => reject(new Error(`the agent reported no container running within ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS);
  });
  event.catch(() => undefined); // awaited later; keep an early timeout from being "unhandled"
  return {
    event,
    cancel: () => {
      off();
      clearTimeout(timer);
    },
  };
}

/** Leaves the shell with `exit`: the agent ends the exec session and the terminal closes. */
async function closeShell(page: Page): Promise<void> {
  await page.locator('.terminal-wrapper.active .xterm').first().click();
  await page.keyboard.type('exit');
  await page.keyboard.press('Enter');
  await page.locator('.terminal-wrapper .xterm').first().waitFor({ state: 'detached', timeout: STEP_TIMEOUT_MS });
}

// --- the page ------------------------------------------------------------------------------------

/** From now on the page notes when the next pointer press lands (capture phase: before the list sees it). */
async function markPointerDown(page: Page): Promise<void> {
  await page.evaluate(() => {
    const marks = window as unknown as { containersLabPointerDown?: number };
    delete marks.containersLabPointerDown;
    document.addEventListener('pointerdown', () => (marks.containersLabPointerDown = Date.now()), { capture: true, once: true });
  });
}

async function pointerDownAt(page: Page): Promise<number> {
  const at = await page.evaluate(() => (window as unknown as { containersLabPointerDown?: number }).containersLabPointerDown);
  if (typeof at !== 'number') throw new Error('the page saw no click on the palette row');
  return at;
}

/**
 * Waits until `probe` (run inside the page) returns a time, re-checking it on every animation
 * frame; returns that time: the page's Date.now() in the first frame that shows it — which is when
 * a learner could first see it, too.
 */
async function waitInPage(page: Page, probe: (argument: RowQuery) => number | false, argument: RowQuery): Promise<number> {
  const handle = await page.waitForFunction(probe, argument, { polling: 'raf', timeout: STEP_TIMEOUT_MS });
  return (await handle.jsonValue()) as number;
}

/** Which container row a probe looks for: one named like `pattern`, present or absent. */
interface RowQuery {
  pattern: string;
  present: boolean;
}

// Probes: Playwright sends their source to the page, so they may use only their argument and the DOM.

/** Date.now() once the Containers view does (or, with present false, no longer does) show a row named like `pattern`. */
function containerRowProbe({ pattern, present }: RowQuery): number | false {
  const name = new RegExp(pattern);
  const panes = Array.from(document.querySelectorAll('.part.sidebar .pane')).filter((pane) => /^\s*containers/i.test(pane.querySelector('.pane-header')?.textContent ?? ''));
  const shown = panes.some((pane) =>
    Array.from(pane.querySelectorAll('.monaco-list-row[role="treeitem"] .label-name')).some((label) => name.test((label.textContent ?? '').trim())),
  );
  return shown === present ? Date.now() : false;
}

/** Date.now() once the active terminal shows busybox's root prompt `/ # ` at the end of a row. */
function promptProbe(): number | false {
  const rows = document.querySelector('.terminal-wrapper.active .xterm-rows');
  if (!rows) return false;
  const shown = Array.from(rows.children).some((row) => /(^|\s)\/ #$/.test((row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));
  return shown ? Date.now() : false;
}
