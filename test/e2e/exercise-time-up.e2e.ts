/*
 * An attempt's time limit, end to end in a real VS Code (code-server + headless Chromium, the
 * packaged .vsix, a loopback sshd and the real agent service; see helpers/lab-session.ts).
 *
 * The agent reads this test's own lab files (CONTAINERS_LAB_LABS): the repository's schema and two
 * learning-path levels, "mount-namespace" with its time limit cut to 1 minute, and "uts-namespace"
 * as it is. No test hook in the agent: the service's own deadline timer ends the attempt.
 *
 *   panel → Start (keyboard) → the countdown runs to the agent's deadline (startedAt + 1 min)
 *   → Check: 0/3; then the tmpfs is mounted inside (through the agent), so the scenario scores 3/3
 *   → the deadline: the agent scores the scenario (3/3), removes its container, says lab.changed
 *   → the panel: "Time is up: the attempt ended at HH:MM with 3/3 points. Start to try again.",
 *     Check/Stop/Open Terminal disabled, Start focused, the 0/3 report kept and marked final;
 *     the tree: "3/3 · time was up"; the kernel: the container's PID 1 is gone
 *   → "Developer: Reload Window": the banner is back before and after reconnecting
 *   → lab.solve on the other level (through the test's own agent client): ◐ "solution shown" in
 *     the tree (codicon eye, the theme's "skipped" colour) and in its panel, not completed.
 *
 * Screenshots go to test/artifacts/e2e/time-up-*.png.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabDetail } from '../../agent/protocol';
import { execThroughAgent } from './helpers/agent-exec';
import { expandTreeItem, reloadWindow, runCommand, screenshot, treeItems, viewPane, waitForTreeItem } from './helpers/browser';
import { REPO } from './helpers/code-server';
import { startLabSession, type LabSession } from './helpers/lab-session';
import { exercisePage } from './helpers/exercise-page';

const TIMED = 'mount-namespace';
const SOLVED = 'uts-namespace';

let labsDirectory: string;
let session: LabSession;
let timed: LabDetail;
let solved: LabDetail;
let containerPid: number;
let deadline: number;
/** The banner's words once the agent ended the attempt (the reload must bring back the same). */
let bannerText: string;

/** The schema (the loader looks for it) and two levels, the timed one with a 1-minute limit. */
function writeLabs(): string {
  const directory = mkdtempSync(join(tmpdir(), 'cl-e2e-time-up-labs-'));
  cpSync(join(REPO, 'labs', 'schema'), join(directory, 'schema'), { recursive: true });
  mkdirSync(join(directory, 'levels'));
  const mnt = readFileSync(join(REPO, 'labs', 'levels', '04-mnt.yaml'), 'utf8');
  const short = mnt.replace(/^timeLimitMinutes: \d+$/m, 'timeLimitMinutes: 1');
  if (short === mnt) throw new Error('04-mnt.yaml has no "timeLimitMinutes:" line to shorten');
  // Its two checks name CKA domains, as a mock exam's do: the report then gives points by domain.
  const withDomains = short
    .replace(/^(    weight: 2\n)/m, '$1    domain: Storage\n')
    .replace(/^(    weight: 1\n)/m, '$1    domain: Troubleshooting\n');
  if ((withDomains.match(/^    domain: /gm) ?? []).length !== 2) throw new Error('04-mnt.yaml\'s checks are not weighted 2 and 1 any more');
  writeFileSync(join(directory, 'levels', '04-mnt.yaml'), withDomains);
  cpSync(join(REPO, 'labs', 'levels', '02-uts.yaml'), join(directory, 'levels', '02-uts.yaml'));
  return directory;
}

const { exercisesPane, panel, text, waitForTreeRow, progress } = exercisePage(() => session);

/** "14:05": the clock time as the page's own Date reads it (the learner's time zone). */
function clockInFrame(frame: Frame, iso: string): Promise<string> {
  return frame.evaluate((at) => {
    const date = new Date(at);
    return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
  }, iso);
}

/** A colour a workbench theme variable resolves to, read in the workbench page. */
function workbenchColour(page: Page, variable: string): Promise<string> {
  return page.evaluate((name) => {
    const probe = document.createElement('span');
    probe.style.color = `var(${name})`;
    document.querySelector('.monaco-workbench')!.append(probe);
    const colour = getComputedStyle(probe).color;
    probe.remove();
    return colour;
  }, variable);
}

/** After a reload the extension waits for the learner: the page's banner offers Connect. */
async function reconnectFromPanel(frame: Frame): Promise<void> {
  const connect = frame.locator('#banner button', { hasText: 'Connect' });
  await connect.waitFor({ state: 'visible', timeout: 30_000 });
  await connect.click();
  await frame.locator('#banner').waitFor({ state: 'hidden', timeout: 60_000 });
}

beforeAll(async () => {
  labsDirectory = writeLabs();
  session = await startLabSession({ label: 'time-up', agentEnv: { CONTAINERS_LAB_LABS: labsDirectory } });
  await session.openWorkbench();
  await session.connect();
  timed = await session.agent.client.call('lab.show', { id: TIMED });
  solved = await session.agent.client.call('lab.show', { id: SOLVED });
});

afterAll(async () => {
  // A failed step must not leave a scenario running: lab.stop is the engine's own teardown.
  for (const id of [TIMED, SOLVED]) await session?.agent.client.call('lab.stop', { id }).catch(() => undefined);
  await session?.close();
  if (labsDirectory) rmSync(labsDirectory, { recursive: true, force: true });
});

describe('an attempt whose time runs out, and a lab solved by the reference solution', () => {
  it('the agent serves the test\'s own labs: the timed level has a 1-minute limit, and its panel says so', async () => {
    const { page } = session;
    expect((await session.agent.client.call('lab.list', {})).map((lab) => lab.id).sort()).toEqual([TIMED, SOLVED].sort());
    expect(timed.timeLimitMinutes).toBe(1);
    // Four views share the sidebar: fold the two this test does not use, so the tree has room.
    for (const view of ['Containers', 'Networks']) {
      const header = viewPane(page, view).locator('.pane-header').first();
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    const header = exercisesPane().locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    await expandTreeItem(await waitForTreeItem(exercisesPane(), 'Learning path', 30_000));
    await treeItems(exercisesPane(), timed.title).first().click();
    const frame = await panel(page, timed.title);
    await frame.locator('#meta', { hasText: 'time limit 1 min' }).waitFor({ timeout: 20_000 });
    expect(await text(frame, '#timer')).toBe('1:00 limit');
    expect(await frame.locator('#time-up').isHidden()).toBe(true);
    // Before any check, what each domain is worth (progress 0 in each).
    expect(await text(frame, '#by-domain caption')).toBe('Points by domain');
    const rows = await frame.locator('#by-domain tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((cell) => cell.textContent)));
    expect(rows).toEqual([['Storage', '0/2', '0%'], ['Troubleshooting', '0/1', '0%']]);
  });

  it('Start from the panel: the countdown runs to the agent\'s deadline; a Check scores 0/3; then the work is done inside, without a Check', async () => {
    const { page } = session;
    const frame = await panel(page, timed.title);
    await frame.locator('#start').focus();
    await page.keyboard.press('Enter');
    await frame.locator('#start', { hasText: 'Reset' }).waitFor({ timeout: 60_000 });
    await frame.locator('#timer[data-running="true"]').waitFor({ timeout: 5_000 });
    const started = await progress(TIMED);
    deadline = Date.parse(started.deadline!);
    // startedAt + 1 minute (the agent reads its clock once for each: they may be a millisecond apart)
    expect(deadline - Date.parse(started.startedAt!)).toBeGreaterThanOrEqual(60_000);
    expect(deadline - Date.parse(started.startedAt!)).toBeLessThan(60_050);
    const shown = /^(\d\d):(\d\d) left$/.exec(await text(frame, '#timer'));
    expect(shown).not.toBeNull();
    expect(Math.abs(Number(shown![1]) * 60 + Number(shown![2]) - (deadline - Date.now()) / 1000)).toBeLessThanOrEqual(3);

    const container = (await session.containers()).find((summary) => summary.name === 'mounts');
    expect(container?.status).toBe('running');
    containerPid = container!.pid!;
    expect(statSync(`/proc/${containerPid}`).isDirectory()).toBe(true);

    await frame.locator('#check').click();
    await frame.locator('#score[data-passed="false"]').waitFor({ timeout: 30_000 });
    expect(await text(frame, '#score')).toBe('Score 0/3');
    // Points by domain, from the checks' domains (the agent's byDomain), in the order the lab names them.
    const rows = await frame.locator('#by-domain tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((cell) => cell.textContent)));
    expect(rows).toEqual([['Storage', '0/2', '0%'], ['Troubleshooting', '0/1', '0%']]);
    expect(await text(frame, '#by-domain caption')).toBe('Result by domain');
    // The answer, given after that Check: only the agent's scoring at the deadline can see it.
    const mounted = await execThroughAgent(session.agent.client, container!.id, ['sh', '-c', 'mkdir -p /scratch && mount -t tmpfs tmpfs /scratch']);
    expect(mounted.code).toBe(0);
    expect(Date.now()).toBeLessThan(deadline); // all of this happened within the minute
    await screenshot(page, 'time-up-01-running');
  });

  it('at the deadline the agent ends the attempt: the banner says when and with what score, Start is focused, the container is gone', async () => {
    const { page } = session;
    const frame = await panel(page, timed.title);
    const banner = frame.locator('#time-up', { hasText: /^Time is up: the attempt ended at/ });
    await banner.waitFor({ state: 'visible', timeout: Math.max(0, deadline - Date.now()) + 60_000 });

    const ended = await progress(TIMED);
    expect(ended.lastEnded).toEqual({ reason: 'time-up', at: new Date(deadline).toISOString(), score: 3 });
    // the scenario as the learner left it scored full when the clock stopped: their work, counted as a check, completed
    expect([ended.startedAt, ended.deadline, ended.attempts, ended.completed]).toEqual([null, null, 2, true]);
    bannerText = `Time is up: the attempt ended at ${await clockInFrame(frame, ended.lastEnded!.at)} with 3/3 points. Start to try again.`;
    expect(await text(frame, '#time-up')).toBe(bannerText);
    expect(await frame.locator('#time-up').getAttribute('role')).toBe('alert');

    // No overtime: the countdown stopped; the actions that need a running attempt are off; Start is offered, focused.
    expect(await text(frame, '#timer')).toBe('Time is up');
    expect(await frame.locator('#timer').getAttribute('data-time-up')).toBe('true');
    for (const id of ['check', 'stop', 'open-terminal']) expect(await frame.locator(`#${id}`).isDisabled(), id).toBe(true);
    expect(await text(frame, '#start')).toBe('Start');
    expect(await frame.locator('#start').isDisabled()).toBe(false);
    expect(await frame.evaluate(() => document.activeElement?.id)).toBe('start');
    // The last report stays, marked as the attempt's final one, with the score the agent recorded.
    expect(await text(frame, '#score')).toBe('Score 0/3');
    expect(await frame.locator('#score').getAttribute('data-final')).toBe('true');
    expect(await text(frame, '#report-final')).toMatch(/^Final report: .* scored the scenario 3\/3\.$/);

    const row = await waitForTreeRow(timed.title, (candidate) => candidate.text.includes('time was up'));
    expect(row.text).toBe(`${timed.title} 3/3 · time was up · last opened`);

    // The kernel: the scenario's container and its PID 1 are gone; the agent refuses a Check now.
    expect((await session.containers()).map((summary) => summary.name)).not.toContain('mounts');
    expect(() => statSync(`/proc/${containerPid}`)).toThrow();
    await expect(session.agent.client.call('lab.check', { id: TIMED })).rejects.toThrow(/is not started \(its last attempt ran out of time with 3\/3\)/);
    await screenshot(page, 'time-up-02-ended');
  });

  it('the time-up banner survives "Developer: Reload Window", before and after reconnecting', async () => {
    const { page } = session;
    await reloadWindow(page);
    await page.locator('.tabs-container .tab').filter({ hasText: `Exercise: ${timed.title}` }).first().click();
    const frame = await panel(page, timed.title);
    // from the page's saved state, before the extension is connected again
    await frame.locator('#time-up', { hasText: bannerText }).waitFor({ state: 'visible', timeout: 30_000 }).catch(async (error: unknown) => {
      await screenshot(page, 'time-up-03-failed');
      throw new Error(`${String(error)}\npage: ${await frame.evaluate(() => document.body.innerText)}`);
    });
    expect(await text(frame, '#timer')).toBe('Time is up');
    await screenshot(page, 'time-up-03-restored-not-connected');
    await reconnectFromPanel(frame);
    // from the agent's record: the same words, the same final report
    await frame.locator('#status[data-status="completed"]').waitFor({ timeout: 30_000 });
    expect(await text(frame, '#time-up')).toBe(bannerText);
    expect(await frame.locator('#score').getAttribute('data-final')).toBe('true');
    await expandTreeItem(await waitForTreeItem(exercisesPane(), 'Learning path', 30_000));
    await waitForTreeRow(timed.title, (row) => row.text === `${timed.title} 3/3 · time was up · last opened`);
  });

  it('lab.solve on another lab: ◐ "solution shown" in the tree and in its panel, apart from the learner\'s own completion', async () => {
    const { page } = session;
    const { client } = session.agent;
    await client.call('lab.start', { id: SOLVED }, { timeoutMs: 120_000 });
    const report = await client.call('lab.solve', { id: SOLVED }, { timeoutMs: 120_000 });
    expect(report.passed).toBe(true);
    await client.call('lab.stop', { id: SOLVED }, { timeoutMs: 120_000 });
    const kept = await progress(SOLVED);
    expect([kept.solvedByReference, kept.completed, kept.attempts]).toEqual([true, false, 0]);

    // the agent says nothing about a solve (it was asked): Refresh reads the list again
    await runCommand(page, 'Containers Lab: Refresh');
    const row = await waitForTreeRow(solved.title, (candidate) => candidate.icon.includes('codicon-eye'));
    expect(row.text).toMatch(/ · solution shown$/);
    expect(row.colour).toBe(await workbenchColour(page, '--vscode-testing-iconSkipped'));

    await treeItems(exercisesPane(), solved.title).first().click();
    const frame = await panel(page, solved.title);
    await frame.locator('#status[data-status="shown"]').waitFor({ timeout: 30_000 });
    expect(await text(frame, '#status')).toBe('◐ solution shown');
    expect(await text(frame, '#reference')).toMatch(/reference solution solved this exercise.*Solve it yourself and Check: that completes it\.$/);
    // its steps are no secret any more: Show Solution is offered without a Check of the learner's
    expect(await frame.locator('#show-solution').isDisabled()).toBe(false);
    expect(await frame.locator('#time-up').isHidden()).toBe(true);
    await screenshot(page, 'time-up-04-solution-shown');
  });
});
