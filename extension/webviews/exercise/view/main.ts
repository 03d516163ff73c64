/*
 * The Exercise page: one lab — its task, a countdown, and the learner's actions.
 *
 *   Start / Reset     lab.start (the setup builds the scenario) / lab.reset (teardown, setup again)
 *   Check             lab.check: every check against the kernel, each ✓ or ✗ with its weight and
 *                     what is missing; partial credit shows as score/max; a failed check may offer a hint
 *   Hint              the lab's hints, one more each press
 *   Show Solution     the reference solution — only after the first Check ("after trying")
 *   Open Terminal     a shell to work in (see commands/exercises.ts for which one)
 *   Stop              teardown: the scenario's containers, links and files go away
 *
 * The page keeps what it needs to redraw after a reload in VS Code's page state (the serializer
 * revives the panel from it): the start instant for the timer, the hints shown, the last report.
 */
import type { LabCheckResult, LabDetail, LabSolutionText } from '../../../../agent/protocol';
import { exerciseStatus, formatPoints, statusLook } from '../../../views/exercises/model';
import { h, loadPageState, onExtensionMessage, postToExtension, readInitialState, savePageState } from '../../shared/view/vscode-api';
import { parseMarkdown } from '../markdown';
import type { Action, ExerciseState, FromPage, ToPage } from '../messages';
import { countdown } from '../timer';
import { renderBlocks } from './markdown-dom';

const state: ExerciseState = { id: '', title: '', ...readInitialState<ExerciseState>(), ...loadPageState<ExerciseState>() };
const save = (): void => savePageState(state);
save();
const send = (message: FromPage): void => postToExtension(message);

let detail: LabDetail | null = null;
let solution: LabSolutionText | null = null;
let busy: Action | null = null;
let connected = true;
/** A message that stays until the next action (e.g. that the scenario was stopped). */
let notice: string | null = null;
/** Failed checks whose hint the learner opened. */
const openCheckHints = new Set<string>();

// --- page skeleton ------------------------------------------------------------------------------

const app = document.getElementById('app')!;
const button = (id: string, label: string, action: Action | null, secondary = true): HTMLButtonElement => {
  const element = h('button', { type: 'button', id, class: secondary ? 'secondary' : undefined }, label);
  if (action) element.addEventListener('click', () => send({ type: 'action', action }));
  return element;
};

const title = h('h1', { id: 'title' }, state.title || state.id);
const meta = h('p', { class: 'muted', id: 'meta' });
const timer = h('span', { id: 'timer', role: 'timer', 'aria-label': 'time left', class: 'badge timer' }, '');
const status = h('span', { id: 'status', class: 'badge' });
const startButton = button('start', 'Start', null, false);
startButton.addEventListener('click', () => send({ type: 'action', action: state.startedAt ? 'reset' : 'start' }));
const checkButton = button('check', 'Check', 'check', false);
const hintButton = button('hint', 'Hint', null);
hintButton.addEventListener('click', () => {
  state.hintsShown = Math.min((state.hintsShown ?? 0) + 1, detail?.hints.length ?? 0);
  save();
  drawHints();
  document.querySelector<HTMLElement>('#hints li:last-child')?.focus();
});
const solutionButton = button('show-solution', 'Show Solution', 'solution');
const terminalButton = button('open-terminal', 'Open Terminal', 'openTerminal');
const stopButton = button('stop', 'Stop', 'stop');
const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'exercise actions' }, startButton, checkButton, hintButton, solutionButton, terminalButton, stopButton);
const banner = h('div', { id: 'banner', role: 'status', 'aria-live': 'polite', hidden: true });
const errorBox = h('div', { id: 'error', role: 'alert', class: 'error', hidden: true });

const task = h('div', { id: 'task', class: 'markdown' });
const workdir = h('p', { class: 'muted', id: 'workdir' });
const hints = h('ol', { id: 'hints', class: 'hints' });
const hintsSection = h('section', { id: 'hints-section', 'aria-labelledby': 'hints-heading', hidden: true }, h('h2', { id: 'hints-heading' }, 'Hints'), hints);
const score = h('p', { id: 'score', class: 'score', 'aria-live': 'polite' });
const checks = h('ul', { id: 'checks', class: 'checks' });
const solutionView = h('section', { id: 'solution', 'aria-labelledby': 'solution-heading', hidden: true });

app.append(
  h('header', {}, h('div', { class: 'title-row' }, title, status, timer), meta, toolbar),
  banner,
  errorBox,
  h('section', { 'aria-labelledby': 'task-heading' }, h('h2', { id: 'task-heading' }, 'Task'), task, workdir),
  hintsSection,
  h('section', { 'aria-labelledby': 'checks-heading' }, h('h2', { id: 'checks-heading' }, 'Checks'), score, checks),
  solutionView,
);

// --- drawing ------------------------------------------------------------------------------------

/** "Tried" means checked at least once: this page saw a report, or the agent counts an attempt. */
function tried(): boolean {
  return Boolean(state.report) || (detail?.progress.attempts ?? 0) > 0;
}

function drawHeader(): void {
  if (detail) {
    title.textContent = detail.title;
    const kind = detail.kind === 'level' ? `Level ${detail.order}` : 'Exercise';
    meta.textContent = `${kind} · ${detail.domain} · ${detail.difficulty} · time limit ${detail.timeLimitMinutes} min`;
    const look = statusLook(exerciseStatus(detail.progress));
    status.textContent = `${look.glyph} ${look.label}`;
    status.dataset.status = exerciseStatus(detail.progress);
  }
  drawTimer();
  drawButtons();
}

function drawButtons(): void {
  const started = Boolean(state.startedAt);
  startButton.textContent = started ? 'Reset' : 'Start';
  startButton.title = started ? 'Tear the scenario down and set it up again' : 'Set up the scenario and start the timer';
  for (const element of [startButton, checkButton, stopButton, solutionButton, terminalButton]) element.disabled = busy !== null || !connected;
  checkButton.disabled ||= !started;
  stopButton.disabled ||= !started;
  terminalButton.disabled ||= !started;
  solutionButton.disabled ||= !tried();
  solutionButton.title = tried() ? 'Show the reference solution' : 'Available after your first Check';
  const hintCount = detail?.hints.length ?? 0;
  hintButton.disabled = (state.hintsShown ?? 0) >= hintCount;
  hintButton.textContent = hintCount === 0 ? 'Hint' : `Hint (${Math.min(state.hintsShown ?? 0, hintCount)}/${hintCount})`;
  drawBanner();
}

const busyText: Record<Action, string> = {
  start: 'Setting up the scenario',
  reset: 'Resetting the scenario',
  check: 'Checking against the kernel',
  stop: 'Tearing the scenario down',
  solution: 'Fetching the solution',
  openTerminal: 'Opening a terminal',
};

function drawTimer(): void {
  const limit = state.timeLimitMinutes ?? detail?.timeLimitMinutes;
  const left = state.startedAt && limit !== undefined ? countdown(state.startedAt, limit, Date.now()) : null;
  timer.textContent = left ? `${left.text} ${left.overtime ? 'over' : 'left'}` : `${limit ?? '–'}:00 limit`;
  timer.dataset.running = left ? 'true' : 'false';
  timer.dataset.overtime = left?.overtime ? 'true' : 'false';
  timer.title = left ? (left.overtime ? 'Time is up: this is the overtime' : 'Time left') : 'Starts when you press Start';
}

function drawTask(): void {
  if (!detail) return;
  task.replaceChildren(...renderBlocks(parseMarkdown(detail.task)));
  workdir.textContent = `Answers go under ${detail.workdir}`;
}

function drawHints(): void {
  const shown = (detail?.hints ?? []).slice(0, state.hintsShown ?? 0);
  hintsSection.hidden = shown.length === 0;
  hints.replaceChildren(...shown.map((hint) => h('li', { tabindex: -1 }, ...renderBlocks(parseMarkdown(hint)))));
  drawButtons();
}

function checkTitle(id: string): string {
  return detail?.checks.find((check) => check.id === id)?.title ?? id;
}

function drawChecks(): void {
  const report = state.report ?? null;
  if (report) {
    score.textContent = `Score ${formatPoints(report.score)}/${formatPoints(report.max)}${report.passed ? ' — all checks pass' : ''}`;
    score.dataset.passed = String(report.passed);
    checks.replaceChildren(...report.checks.map(resultRow));
  } else {
    const max = detail?.checks.reduce((sum, check) => sum + check.weight, 0) ?? 0;
    score.textContent = detail ? `Not checked yet (${formatPoints(max)} points)` : '';
    delete score.dataset.passed;
    checks.replaceChildren(
      ...(detail?.checks ?? []).map((check) =>
        h('li', { class: 'check', 'data-check': check.id, 'data-passed': 'unknown' }, h('span', { class: 'glyph', 'aria-hidden': 'true' }, '○'), h('span', { class: 'check-title' }, check.title), h('span', { class: 'weight muted' }, points(check.weight))),
      ),
    );
  }
}

function points(weight: number): string {
  return `${formatPoints(weight)} pt${weight === 1 ? '' : 's'}`;
}

function resultRow(result: LabCheckResult): HTMLLIElement {
  const hintText = result.hint ?? detail?.checks.find((check) => check.id === result.id)?.hint ?? null;
  const row = h(
    'li',
    { class: `check ${result.passed ? 'passed' : 'failed'}`, 'data-check': result.id, 'data-passed': String(result.passed) },
    h('span', { class: 'glyph', 'aria-label': result.passed ? 'passed' : 'failed' }, result.passed ? '✓' : '✗'),
    h('span', { class: 'check-title' }, checkTitle(result.id)),
    h('span', { class: 'weight muted' }, `${result.passed ? formatPoints(result.weight) : 0}/${points(result.weight)}`),
  );
  if (!result.passed && result.message) row.append(h('div', { class: 'message' }, result.message));
  if (!result.passed && hintText) {
    const text = h('div', { class: 'check-hint-text', hidden: !openCheckHints.has(result.id) }, ...renderBlocks(parseMarkdown(hintText)));
    const toggle = h('button', { type: 'button', class: 'secondary check-hint', 'aria-expanded': String(openCheckHints.has(result.id)) }, 'Hint');
    toggle.addEventListener('click', () => {
      const open = !openCheckHints.has(result.id);
      if (open) openCheckHints.add(result.id);
      else openCheckHints.delete(result.id);
      text.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
    });
    row.append(toggle, text);
  }
  return row;
}

function drawSolution(): void {
  solutionView.hidden = solution === null;
  if (!solution) return;
  solutionView.replaceChildren(
    h('h2', { id: 'solution-heading' }, 'Reference solution'),
    h('pre', { class: 'steps' }, h('code', {}, solution.steps.join('\n'))),
    ...(solution.explanation ? renderBlocks(parseMarkdown(solution.explanation)) : []),
  );
}

/** One line of news: what is under way, else the connection's loss, else the last notice (e.g. "Stopped"). */
let bannerDrawn = '';
function drawBanner(): void {
  // Redrawn only when its words change, so a focused Connect button keeps the focus.
  const key = `${busy}|${connected}|${notice}`;
  if (key === bannerDrawn) return;
  bannerDrawn = key;
  const connect = h('button', { type: 'button' }, 'Connect');
  connect.addEventListener('click', () => send({ type: 'connect' }));
  const parts: (Node | string)[] = busy ? [`${busyText[busy]}…`] : !connected ? ['Not connected to the lab host. ', connect] : notice ? [notice] : [];
  banner.hidden = parts.length === 0;
  banner.replaceChildren(...parts);
}

function showError(text: string | null): void {
  errorBox.hidden = text === null;
  errorBox.textContent = text ?? '';
}

// --- messages -----------------------------------------------------------------------------------

onExtensionMessage<ToPage>((message) => {
  switch (message.type) {
    case 'detail':
      detail = message.detail;
      state.title = detail.title;
      state.timeLimitMinutes = detail.timeLimitMinutes;
      // The agent's record is the truth about whether the scenario is up (it survives reloads and other clients).
      state.startedAt = detail.progress.startedAt;
      // A saved report the agent's record contradicts (a check since, from the CLI or another window) is stale.
      if (state.report && (detail.progress.attempts === 0 || (detail.progress.lastScore !== null && detail.progress.lastScore !== state.report.score))) state.report = null;
      save();
      drawHeader();
      drawTask();
      drawHints();
      drawChecks();
      break;
    case 'started':
      state.startedAt = message.started.startedAt;
      state.timeLimitMinutes = message.started.timeLimitMinutes;
      state.report = null;
      openCheckHints.clear();
      save();
      showError(null);
      drawHeader();
      drawChecks();
      break;
    case 'report':
      state.report = message.report;
      save();
      showError(null);
      drawChecks();
      drawButtons();
      document.getElementById('score')?.focus();
      break;
    case 'stopped':
      state.startedAt = null;
      save();
      drawHeader();
      notice = 'Stopped: the scenario was torn down. Start sets it up again.';
      drawBanner();
      break;
    case 'solution':
      solution = message.solution;
      drawSolution();
      break;
    case 'busy':
      busy = message.action;
      if (busy) notice = null;
      drawButtons();
      break;
    case 'error':
      showError(message.message);
      break;
    case 'connection':
      connected = message.connected;
      drawButtons();
      break;
  }
});

score.tabIndex = -1;
drawHeader();
drawChecks();
setInterval(drawTimer, 1_000);
send({ type: 'ready' });
