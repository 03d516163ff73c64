/*
 * The Exercises view and the exercise panel in a real VS Code (code-server + headless Chromium,
 * the packaged .vsix, a loopback sshd and the real agent; see helpers/lab-session.ts), on the
 * learning path's level "mount-namespace", whose solution is one command inside its container:
 *
 *   Exercises view → Learning path → the level (○ –/3) → its panel (task rendered from Markdown)
 *   → Start (keyboard) → the kernel has the container, in its own mount namespace
 *   → Check: red, 0/3, each failure says what is missing; Show Solution unlocks
 *   → Open Terminal: a root shell on the lab host in the answer folder (/proc/<pid>/cwd), with
 *     containers-lab on PATH; the task's own command typed there
 *   → the kernel shows a tmpfs at /scratch in the container's mountinfo, not in the host's
 *   → Check: all green, 3/3; the tree item turns ✓
 *   → the verdicts, red and green, are readable (WCAG AA 4.5:1) in VS Code's light and dark themes
 *   → Hints one at a time, a failed check's own hint, a root shell on the lab host (level 1);
 *     the panel survives a window reload (timer, report);
 *     progress and the last opened exercise survive it too → Show Solution → Stop: all gone.
 *
 * Screenshots go to test/artifacts/e2e/exercises-*.png.
 */
import { homedir, hostname } from 'node:os';
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import type { Frame } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_DOMAINS, type LabDetail } from '../../agent/protocol';
import { nsInode } from '../helpers/kernel-witness';
import { expandTreeItem, reloadWindow, screenshot, treeItems, treeRowTexts, typeInTerminal, viewPane, waitForTerminalText, waitForTreeItem } from './helpers/browser';
import { startLabSession, type LabSession } from './helpers/lab-session';
import { exercisePage } from './helpers/exercise-page';
import { chooseColourTheme, contrastBetween, contrastOf, pageTheme, WCAG_AA_TEXT } from './helpers/contrast';

const LEVEL = 'mount-namespace';
const HINTED_LEVEL = 'a-process';
const SOLUTION_LINE = 'mkdir -p /scratch && mount -t tmpfs tmpfs /scratch';

let session: LabSession;
let level: LabDetail;
let hinted: LabDetail;
let containerPid: number;

const { exercisesPane, panel, text, treeRow, waitForTreeRow, progress } = exercisePage(() => session);

/** Mount points of a mount namespace, as the kernel lists them (field 5 of mountinfo) with their type. */
function mounts(pid: number | 'self'): { target: string; fstype: string }[] {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [left, right] = line.split(' - ');
      return { target: left!.split(' ')[4]!, fstype: right!.split(' ')[0]! };
    });
}

/**
 * The colour a theme variable resolves to in the page (to compare with a drawn element's). A page
 * VS Code is still (re)styling computes no colour yet: ask again until it does.
 */
async function themeColour(frame: Frame, variable: string): Promise<string> {
  const read = () => frame.evaluate((name) => {
    const probe = document.createElement('span');
    probe.style.color = `var(${name})`;
    document.body.append(probe);
    const colour = getComputedStyle(probe).color;
    probe.remove();
    return colour;
  }, variable);
  await expect.poll(read, { timeout: 10_000 }).not.toBe('');
  return read();
}

/* VS Code's own themes, by id: the classic pair, the Modern pair, and this release's default pair. */
const THEMES = ['Light+', 'Dark+', 'Light Modern', 'Dark Modern', 'Light 2026', 'Dark 2026'];

/** Every element's text against what is drawn behind it, in each theme: the ones below 4.5:1, described. */
async function unreadable(title: string, elements: Record<string, string>): Promise<string[]> {
  const problems: string[] = [];
  const [before] = await pageTheme(await panel(session.page, title));
  try {
    for (const theme of THEMES) {
      await chooseColourTheme(session.page, theme);
      // the page is drawn in the new theme once VS Code has sent it its colours
      await expect.poll(async () => pageTheme(await panel(session.page, title)), { timeout: 30_000 }).toContain(theme);
      const frame = await panel(session.page, title);
      for (const [what, selector] of Object.entries(elements)) {
        const drawn = await contrastOf(frame, selector);
        if (drawn.ratio < WCAG_AA_TEXT) problems.push(`${theme}: ${what} ${drawn.text} on ${drawn.background} is ${drawn.ratio.toFixed(2)}:1`);
      }
      await screenshot(session.page, `exercises-contrast-${theme.replace(/\W+/g, '-').toLowerCase()}`);
    }
  } finally {
    if (before) await chooseColourTheme(session.page, before);
  }
  // switching themes must not have cost the lab its connection
  await (await panel(session.page, title)).locator('#banner').waitFor({ state: 'hidden', timeout: 10_000 });
  return problems;
}

beforeAll(async () => {
  session = await startLabSession({ label: 'exercises' });
  await session.openWorkbench();
  await session.connect();
  level = await session.agent.client.call('lab.show', { id: LEVEL });
  hinted = await session.agent.client.call('lab.show', { id: HINTED_LEVEL });
});

afterAll(async () => {
  // A failed step must not leave the scenario running: lab.stop is the engine's own teardown.
  for (const id of [LEVEL, HINTED_LEVEL]) await session?.agent.client.call('lab.stop', { id }).catch(() => undefined);
  await session?.close();
});

describe('Exercises view and exercise panel', () => {
  it('lists the learning path and the CKA domains; the level is ○ and not scored yet', async () => {
    const { page } = session;
    // Four views share the sidebar: fold the two this test does not use, so the tree has room.
    for (const view of ['Containers', 'Networks']) {
      const header = viewPane(page, view).locator('.pane-header').first();
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    const header = exercisesPane().locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();

    const path = await waitForTreeItem(exercisesPane(), 'Learning path', 30_000);
    // the roots: the learning path, then every CKA domain that has exercises, in the curriculum's order
    const labs = await session.agent.client.call('lab.list', {});
    const levels = labs.filter((lab) => lab.kind === 'level').length;
    const domains = LAB_DOMAINS.filter((domain) => labs.some((lab) => lab.kind === 'exercise' && lab.domain === domain));
    const expected = [`Learning path 0/${levels} completed`, ...domains.map((domain) => `${domain} 0/${labs.filter((lab) => lab.kind === 'exercise' && lab.domain === domain).length} completed`)];
    expect(await treeRowTexts(exercisesPane())).toEqual(expected);
    expect(domains.length).toBeGreaterThanOrEqual(4);
    await expandTreeItem(path);
    const row = await treeRow(level.title);
    expect(row.text).toBe(`${level.title} –/3`);
    expect(row.icon).toContain('codicon-circle-large-outline');
    await screenshot(page, 'exercises-01-view');
  });

  it('opens the level\'s panel: the task is rendered from Markdown as text, the timer waits, Check and Show Solution are not offered yet', async () => {
    const { page } = session;
    await treeItems(exercisesPane(), level.title).first().click();
    const frame = await panel(page, level.title);
    await frame.locator('#task ol li').first().waitFor({ timeout: 20_000 });
    expect(await frame.locator('#task ol li').count()).toBe(2);
    expect(await frame.locator('#task code').allInnerTexts()).toContain(`containers-lab exec mounts -- sh -c '${SOLUTION_LINE}'`);
    expect(await frame.locator('#task strong').allInnerTexts()).toContain('mounts');
    expect(await frame.locator('#task script, #task [onerror], #task img').count()).toBe(0);
    expect(await text(frame, '#timer')).toBe('15:00 limit');
    expect(await text(frame, '#start')).toBe('Start');
    expect(await frame.locator('#check').isDisabled()).toBe(true);
    expect(await frame.locator('#show-solution').isDisabled()).toBe(true);
    // the checks are listed (what will be looked at), unscored
    expect(await frame.locator('#checks li[data-passed="unknown"]').count()).toBe(level.checks.length);
    await screenshot(page, 'exercises-02-panel');
  });

  it('Start (from the keyboard) builds the scenario: the kernel runs "mounts" in its own mount namespace; the timer runs', async () => {
    const { page } = session;
    const frame = await panel(page, level.title);
    await frame.locator('#start').focus();
    await page.keyboard.press('Enter');
    await frame.locator('#start', { hasText: 'Reset' }).waitFor({ timeout: 60_000 });
    await frame.locator('#timer[data-running="true"]').waitFor({ timeout: 5_000 });
    expect(await text(frame, '#timer')).toMatch(/^1[45]:\d\d left$/);

    const container = (await session.containers()).find((summary) => summary.name === 'mounts');
    expect(container?.status).toBe('running');
    containerPid = container!.pid!;
    expect(nsInode(containerPid, 'mnt')).not.toBe(nsInode('self', 'mnt'));
    expect(mounts(containerPid).some((mount) => mount.target === '/scratch')).toBe(false);
    expect((await progress(LEVEL)).startedAt).not.toBeNull();
    await waitForTreeRow(level.title, (row) => row.text.includes('· started'));
  });

  it('Check before solving is red: 0/3, every check failed with what is missing; Show Solution unlocks', async () => {
    const { page } = session;
    const frame = await panel(page, level.title);
    await frame.locator('#check').click();
    await frame.locator('#score[data-passed="false"]').waitFor({ timeout: 60_000 });
    expect(await text(frame, '#score')).toBe('Score 0/3');
    expect(await frame.locator('#checks li[data-passed="false"]').count()).toBe(level.checks.length);
    expect(await text(frame, '#checks li[data-check="tmpfs"] .message')).toContain('nothing of type tmpfs is mounted at /scratch in "mounts"');
    expect(await text(frame, '#checks li[data-check="tmpfs"] .weight')).toBe('0/2 pts');
    // red in the theme's colour for list items with errors (the testing icon red is too light for letters on white)
    const glyph = frame.locator('#checks li[data-check="tmpfs"] .glyph');
    expect(await glyph.innerText()).toBe('✗');
    // the list may be re-rendered meanwhile (progress arrives after the report): ask the element shown now
    const failedColour = await themeColour(frame, '--vscode-list-errorForeground');
    await expect.poll(() => glyph.evaluate((element) => getComputedStyle(element).color), { timeout: 10_000 }).toBe(failedColour);
    expect(await frame.locator('#show-solution').isDisabled()).toBe(false);

    const row = await waitForTreeRow(level.title, (candidate) => candidate.icon.includes('codicon-error'));
    expect(row.text).toMatch(new RegExp(`^${escape(level.title)} 0/3 · started`));
    const kept = await progress(LEVEL);
    expect([kept.attempts, kept.lastScore, kept.completed]).toEqual([1, 0, false]);
    await screenshot(page, 'exercises-03-check-failed');
  });

  it('a failed check reads clearly in light and dark themes: score, status, ✗ and what is missing all reach 4.5:1', async () => {
    // the measure itself, on WCAG's own extremes and on the green the page used to write in
    expect(contrastBetween('rgb(0, 0, 0)', 'rgb(255, 255, 255)')).toBeCloseTo(21, 5);
    expect(contrastBetween('rgb(115, 201, 145)', 'rgb(255, 255, 255)')).toBeLessThan(2.1); // testing.iconPassed on Light+
    await (await panel(session.page, level.title)).locator('#status[data-status="tried"]').waitFor({ timeout: 15_000 });
    expect(await unreadable(level.title, {
      score: '#score[data-passed="false"]',
      status: '#status[data-status="tried"]',
      '✗': '#checks li[data-passed="false"] .glyph',
      'what is missing': '#checks li[data-passed="false"] .message',
    })).toEqual([]);
  });

  it('Open Terminal gives a root shell on the lab host in the answer folder, containers-lab on PATH; the task\'s command typed there mounts a tmpfs only the container sees', async () => {
    const { page } = session;
    const frame = await panel(page, level.title);
    await frame.locator('#open-terminal').click();
    await page.locator('.terminal-tab, .tabs-container .tab, .single-terminal-tab').filter({ hasText: `Lab host: ${level.title}` }).first().waitFor({ timeout: 30_000 });
    await waitForTerminalText(page, /[#$]\s*$/m, 30_000);
    await typeInTerminal(page, 'echo "shell=$$ uid=$(id -u) at $(pwd)"; command -v containers-lab');
    const where = await waitForTerminalText(page, /shell=\d+ uid=\d+ at \S+\s*\n\S+containers-lab\s*\n/m, 20_000);
    const [, shell, uid] = /shell=(\d+) uid=(\d+) at /.exec(where)!;
    // the kernel's word for where the shell is, and as whom
    expect(readlinkSync(`/proc/${shell}/cwd`)).toBe(level.workdir);
    expect(uid).toBe('0');
    // the extension's own containers-lab, beside the agent build it installed over SSH
    expect(where).toContain(`${homedir()}/.containers-lab/agent/bin/containers-lab`);
    // the task's command, as printed, reaches this session's agent
    await typeInTerminal(page, `containers-lab exec mounts -- sh -c '${SOLUTION_LINE}' && containers-lab exec mounts -- grep -c " /scratch " /proc/self/mountinfo`);
    await waitForTerminalText(page, /mountinfo\s*\n1\s*\n/m, 30_000);
    await screenshot(page, 'exercises-04-terminal');

    const inside = mounts(containerPid).filter((mount) => mount.target === '/scratch');
    expect(inside).toEqual([{ target: '/scratch', fstype: 'tmpfs' }]);
    expect(mounts('self').some((mount) => mount.target === '/scratch')).toBe(false);
  });

  it('Check after solving is green: 3/3, every check passed; the tree item shows ✓', async () => {
    const { page } = session;
    const frame = await panel(page, level.title);
    await frame.locator('#check').click();
    await frame.locator('#score[data-passed="true"]').waitFor({ timeout: 60_000 });
    expect(await text(frame, '#score')).toBe('Score 3/3 — all checks pass');
    expect(await frame.locator('#checks li[data-passed="true"]').count()).toBe(level.checks.length);
    expect(await frame.locator('#checks li[data-passed="false"]').count()).toBe(0);
    const glyph = frame.locator('#checks li[data-check="private"] .glyph');
    const passedColour = await themeColour(frame, '--vscode-foreground');
    await expect.poll(() => glyph.evaluate((element) => getComputedStyle(element).color), { timeout: 10_000 }).toBe(passedColour);
    // the header follows the agent's progress record, which the panel re-reads after the check
    await frame.locator('#status[data-status="completed"]').waitFor({ timeout: 15_000 });
    expect(await text(frame, '#status')).toBe('✓ completed');

    const row = await waitForTreeRow(level.title, (candidate) => candidate.icon.includes('codicon-pass-filled'));
    expect(row.text).toMatch(new RegExp(`^${escape(level.title)} 3/3 · started`));
    const kept = await progress(LEVEL);
    expect([kept.completed, kept.bestScore, kept.attempts]).toEqual([true, 3, 2]);
    // solved: the clock stops where the full score came, and stays stopped
    await frame.locator('#timer[data-running="false"]').waitFor({ timeout: 5_000 });
    const stopped = await text(frame, '#timer');
    expect(stopped).toMatch(/^Solved, \d\d:\d\d to spare$/);
    await page.waitForTimeout(1_500);
    expect(await text(frame, '#timer')).toBe(stopped);
    // Reset would throw the work away: the first press only asks; Escape takes it back
    await frame.locator('#start').focus();
    await page.keyboard.press('Enter');
    await frame.locator('#start', { hasText: 'Confirm reset' }).waitFor({ timeout: 5_000 });
    await page.keyboard.press('Escape');
    await frame.locator('#start', { hasText: /^Reset$/ }).waitFor({ timeout: 5_000 });
    expect((await progress(LEVEL)).startedAt).not.toBeNull(); // nothing was reset
    await screenshot(page, 'exercises-05-check-passed');
  });

  it('a full score reads clearly in light and dark themes: "Score 3/3 — all checks pass", "✓ completed" and ✓ reach 4.5:1', async () => {
    expect(await unreadable(level.title, {
      score: '#score[data-passed="true"]',
      status: '#status[data-status="completed"]',
      '✓': '#checks li[data-passed="true"] .glyph',
      'check title': '#checks li[data-passed="true"] .check-title',
    })).toEqual([]);
  });

  it('Hint reveals the lab\'s hints one at a time (level 1 has two)', async () => {
    const { page } = session;
    await treeItems(exercisesPane(), hinted.title).first().click();
    const frame = await panel(page, hinted.title);
    await frame.locator('#hint', { hasText: 'Hint (0/2)' }).waitFor({ timeout: 20_000 });
    expect(await frame.locator('#hints-section').isHidden()).toBe(true);
    await frame.locator('#hint').click();
    await frame.locator('#hints li').first().waitFor();
    expect(await frame.locator('#hints li').count()).toBe(1);
    expect(await text(frame, '#hints li:nth-child(1)')).toBe(hinted.hints[0]!.replace(/`/g, ''));
    await frame.locator('#hint').click();
    await frame.locator('#hints li:nth-child(2)').waitFor();
    expect(await text(frame, '#hints li:nth-child(2)')).toBe(hinted.hints[1]!.replace(/`/g, ''));
    expect(await frame.locator('#hint').isDisabled()).toBe(true);
    // never started: no scenario, no timer running
    expect(await frame.locator('#timer').getAttribute('data-running')).toBe('false');
    await screenshot(page, 'exercises-06-hints');
  });

  it('a failed check offers its own hint; a lab worked on the host gets a root shell on the lab host', async () => {
    const { page } = session;
    const frame = await panel(page, hinted.title);
    // level 1 has no setup: starting it makes nothing, and its checks fail until the learner runs "first"
    await frame.locator('#start').click();
    await frame.locator('#start', { hasText: 'Reset' }).waitFor({ timeout: 60_000 });
    await frame.locator('#check').click();
    await frame.locator('#score[data-passed="false"]').waitFor({ timeout: 60_000 });
    const failed = frame.locator('#checks li[data-check="running"]');
    const hint = hinted.checks.find((check) => check.id === 'running')!.hint!;
    expect(await failed.locator('.check-hint-text').isHidden()).toBe(true);
    await failed.locator('button.check-hint').click();
    expect(await failed.locator('button.check-hint').getAttribute('aria-expanded')).toBe('true');
    expect((await failed.locator('.check-hint-text').innerText()).trim()).toBe(hint);

    // nothing runs for this lab: the terminal is a root shell on the lab host itself, over SSH
    await frame.locator('#open-terminal').click();
    await page.locator('.terminal-tab, .tabs-container .tab, .single-terminal-tab').filter({ hasText: 'Lab host' }).first().waitFor({ timeout: 30_000 });
    await waitForTerminalText(page, /[#$]\s*$/m, 30_000);
    await typeInTerminal(page, 'echo "on $(hostname) as $(id -u): $((6*7))"');
    await waitForTerminalText(page, new RegExp(`on ${hostname()} as 0: 42`), 20_000);
    await screenshot(page, 'exercises-07-check-hint');
    await frame.locator('#stop').click();
    await frame.locator('#start', { hasText: 'Start' }).waitFor({ timeout: 60_000 });
  });

  it('after a window reload the panel comes back with its report and its stopped clock; progress and "last opened" were kept', async () => {
    const { page } = session;
    await reloadWindow(page);
    await page.locator('.tabs-container .tab').filter({ hasText: `Exercise: ${level.title}` }).first().click();
    const frame = await panel(page, level.title);
    // restored from the page's saved state before any connection: the report and the timer
    await frame.locator('#score[data-passed="true"]').waitFor({ timeout: 30_000 }).catch(async (error: unknown) => {
      await screenshot(page, 'exercises-08-failed');
      throw new Error(`${String(error)}\npage: ${await frame.evaluate(() => document.body.innerText)}`);
    });
    // the clock stayed stopped where the full score came: what was left then, not now, and not a fresh limit
    await frame.locator('#timer[data-running="false"]').waitFor({ timeout: 10_000 });
    const shown = /^Solved, (\d\d):(\d\d) to spare$/.exec(await text(frame, '#timer'));
    expect(shown).not.toBeNull();
    const startedAt = Date.parse((await progress(LEVEL)).startedAt!);
    const leftNow = (startedAt + level.timeLimitMinutes * 60_000 - Date.now()) / 1000;
    const spare = Number(shown![1]) * 60 + Number(shown![2]);
    expect(spare).toBeGreaterThan(leftNow);
    expect(spare).toBeLessThan(level.timeLimitMinutes * 60);
    const connect = frame.locator('#banner button', { hasText: 'Connect' });
    await connect.waitFor({ state: 'visible', timeout: 30_000 });
    await screenshot(page, 'exercises-08-restored-not-connected');
    await connect.click();
    await frame.locator('#banner').waitFor({ state: 'hidden', timeout: 60_000 });
    await frame.locator('#status[data-status="completed"]').waitFor({ timeout: 30_000 });

    const path = await waitForTreeItem(exercisesPane(), 'Learning path', 30_000);
    await expandTreeItem(path);
    await waitForTreeRow(level.title, (row) => row.icon.includes('codicon-pass-filled') && row.text.includes('3/3'));
    await waitForTreeRow(hinted.title, (row) => row.text.endsWith('last opened'));
    await screenshot(page, 'exercises-09-restored');
  });

  it('Show Solution shows the reference steps', async () => {
    const frame = await panel(session.page, level.title);
    await frame.locator('#show-solution').click();
    await frame.locator('#solution pre').waitFor({ timeout: 20_000 });
    expect(await text(frame, '#solution pre')).toContain(SOLUTION_LINE);
    await screenshot(session.page, 'exercises-10-solution');
  });

  it('Stop tears the scenario down: the container and its process are gone; the ✓ stays', async () => {
    const { page } = session;
    const frame = await panel(page, level.title);
    await frame.locator('#stop').click();
    await frame.locator('#start', { hasText: 'Start' }).waitFor({ timeout: 60_000 });
    await frame.locator('#banner', { hasText: /^Stopped/ }).waitFor({ timeout: 15_000 });
    expect((await session.containers()).map((summary) => summary.name)).not.toContain('mounts');
    expect(() => statSync(`/proc/${containerPid}`)).toThrow();
    expect((await progress(LEVEL)).startedAt).toBeNull();
    const row = await waitForTreeRow(level.title, (candidate) => !candidate.text.includes('started'));
    expect(row.text).toBe(`${level.title} 3/3`);
    expect(row.icon).toContain('codicon-pass-filled');
    await screenshot(page, 'exercises-11-stopped');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
