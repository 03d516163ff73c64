/*
 * The Exercise page: one lab — its task, a countdown, and the learner's actions.
 *
 *   Start / Reset     lab.start (the setup builds the scenario) / lab.reset (teardown, setup again)
 *   Check             lab.check: every check against the kernel, each ✓ or ✗ with its weight and
 *                     what is missing; partial credit shows as score/max; a failed check may offer a hint
 *   Hint              the lab's hints, one more each press
 *   Show Solution     the reference solution — only after the first Check ("after trying")
 *   Open Terminal     a root shell on the lab host, in the answer folder, with containers-lab on PATH
 *   Stop              teardown: the scenario's containers, links and files go away
 *
 * An attempt runs until its deadline: the agent service then scores it and removes its scenario.
 * At zero the countdown says "Time is up", the actions that need a running attempt (Check, Stop,
 * Open Terminal) are disabled, and the page asks for the agent's record; once the agent has ended
 * the attempt, a banner says when and with what score, and Start is offered (and focused).
 *
 * The page keeps what it needs to redraw after a reload in VS Code's page state (the serializer
 * revives the panel from it): the start and deadline for the timer, the hints shown, the last
 * report, and the last attempt's time-up for its banner.
 */
import type { LabDetail, LabProgress, LabSolutionText } from '../../../../agent/protocol';
import { exerciseStatus, statusLook } from '../../../views/exercises/model';
import { h, loadPageState, onExtensionMessage, postToExtension, readInitialState, savePageState } from '../../shared/view/vscode-api';
import { reportIsStale, timeUpOf, timeUpText } from '../ending';
import { parseMarkdown } from '../markdown';
import type { Action, ExerciseState, FromPage, ToPage } from '../messages';
import { attemptDeadline, countdown } from '../timer';
import { renderBlocks } from './markdown-dom';
import { reportView } from './report';

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
/** Reads of the agent's record asked for since the countdown reached zero (a few, spaced: see askRefresh). */
let refreshAsks = { count: 0, last: 0 };

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
/**
 * Reset throws the scenario away with the learner's work in it, so it asks once more, in place:
 * the first press turns the button into "Confirm reset"; a second press within a few seconds
 * resets, anything else (time, focus leaving, Escape) takes it back.
 */
let confirmingReset: ReturnType<typeof setTimeout> | null = null;
const cancelReset = (): void => {
  if (confirmingReset === null) return;
  clearTimeout(confirmingReset);
  confirmingReset = null;
  drawButtons();
};
startButton.addEventListener('click', () => {
  if (!attemptRunning()) return send({ type: 'action', action: 'start' });
  if (confirmingReset !== null) {
    cancelReset();
    return send({ type: 'action', action: 'reset' });
  }
  confirmingReset = setTimeout(cancelReset, 5_000);
  drawButtons();
});
startButton.addEventListener('blur', cancelReset);
startButton.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') cancelReset();
});
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
terminalButton.title = 'A root shell on the lab host, in this exercise\'s answer folder, with containers-lab on PATH';
const stopButton = button('stop', 'Stop', 'stop');
const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'exercise actions' }, startButton, checkButton, hintButton, solutionButton, terminalButton, stopButton);
const banner = h('div', { id: 'banner', role: 'status', 'aria-live': 'polite', hidden: true });
// Apart from #banner, so "Not connected" or a busy line never hides that the attempt is over.
const timeUpBox = h('div', { id: 'time-up', role: 'alert', class: 'time-up', hidden: true });
const reference = h('p', { id: 'reference', class: 'reference', hidden: true });
const errorBox = h('div', { id: 'error', role: 'alert', class: 'error', hidden: true });

const task = h('div', { id: 'task', class: 'markdown' });
const workdir = h('p', { class: 'muted', id: 'workdir' });
const hints = h('ol', { id: 'hints', class: 'hints' });
const hintsSection = h('section', { id: 'hints-section', 'aria-labelledby': 'hints-heading', hidden: true }, h('h2', { id: 'hints-heading' }, 'Hints'), hints);
const report = reportView();
const solutionView = h('section', { id: 'solution', 'aria-labelledby': 'solution-heading', hidden: true });

app.append(
  h('header', {}, h('div', { class: 'title-row' }, title, status, timer), meta, reference, toolbar),
  banner,
  timeUpBox,
  errorBox,
  h('section', { 'aria-labelledby': 'task-heading' }, h('h2', { id: 'task-heading' }, 'Task'), task, workdir),
  hintsSection,
  h('section', { 'aria-labelledby': 'checks-heading' }, h('h2', { id: 'checks-heading' }, 'Checks'), ...report.elements),
  solutionView,
);

// --- drawing ------------------------------------------------------------------------------------

/**
 * "Tried" means checked at least once: this page saw a report, or the agent counts an attempt. A
 * lab the reference solution was run on counts too: its solution is no secret any more.
 */
function tried(): boolean {
  return Boolean(state.report) || (detail?.progress.attempts ?? 0) > 0 || Boolean(detail?.progress.solvedByReference);
}

/** When the running attempt ends (epoch ms), or null when none runs. */
function deadline(): number | null {
  return state.startedAt ? attemptDeadline(state.startedAt, state.deadline, state.timeLimitMinutes ?? detail?.timeLimitMinutes) : null;
}

/** The countdown reached zero, and the agent's record does not say yet that the attempt ended. */
function expired(): boolean {
  const end = deadline();
  return end !== null && end <= Date.now();
}

/** An attempt runs, and its time is not up: Check, Stop and Open Terminal work on it. */
function attemptRunning(): boolean {
  return Boolean(state.startedAt) && !expired();
}

/** What the agent's progress record says about the attempt: running (and until when), or how the last one ended. */
function applyProgress(progress: LabProgress): void {
  state.startedAt = progress.startedAt;
  state.deadline = progress.deadline ?? null;
  state.timeUp = timeUpOf(progress);
  if (!state.startedAt) refreshAsks = { count: 0, last: 0 };
}

function drawHeader(): void {
  if (detail) {
    title.textContent = detail.title;
    const kind = detail.kind === 'level' ? `Level ${detail.order}` : 'Exercise';
    meta.textContent = `${kind} · ${detail.domain} · ${detail.difficulty} · time limit ${detail.timeLimitMinutes} min`;
    const current = exerciseStatus(detail.progress);
    const look = statusLook(current);
    // The badge is short; the long wording stays in the tooltip (and the line below for 'shown').
    status.textContent = current === 'shown' ? `${look.glyph} solution shown` : `${look.glyph} ${look.label}`;
    status.title = look.label;
    status.dataset.status = current;
    reference.hidden = current !== 'shown';
    reference.textContent =
      current === 'shown' ? `${look.glyph} The reference solution solved this exercise (it was run for you), so it is not counted as yours. Solve it yourself and Check: that completes it.` : '';
  }
  drawTimer();
  drawButtons();
}

function drawButtons(): void {
  const started = attemptRunning();
  drawnRunning = started;
  startButton.textContent = !started ? 'Start' : confirmingReset !== null ? 'Confirm reset' : 'Reset';
  startButton.title = !started ? 'Set up the scenario and start the timer' : confirmingReset !== null ? 'Press again to remove your work and set the scenario up again' : 'Tear the scenario down and set it up again (asks first)';
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
  drawTimeUp();
}

const busyText: Record<Action, string> = {
  start: 'Setting up the scenario',
  reset: 'Resetting the scenario',
  check: 'Checking against the kernel',
  stop: 'Tearing the scenario down',
  solution: 'Fetching the solution',
  openTerminal: 'Opening a terminal',
};

/** Whether the buttons last drawn allowed a running attempt's actions (they change when the time is up). */
let drawnRunning = false;
function drawTimer(): void {
  const limit = state.timeLimitMinutes ?? detail?.timeLimitMinutes;
  const end = deadline();
  // Solved: the clock stops where the first full score came (the scenario stays to look around in).
  const solved = end !== null && attemptRunning() && typeof state.solvedAt === 'number' ? countdown(end, state.solvedAt) : null;
  const left = end === null || solved ? null : countdown(end, Date.now());
  const ticking = left !== null && !left.timeUp;
  const up = left?.timeUp === true || Boolean(state.timeUp);
  timer.textContent = solved ? `Solved, ${solved.text} to spare` : ticking ? `${left.text} left` : up ? 'Time is up' : `${limit ?? '–'}:00 limit`;
  timer.dataset.running = String(ticking);
  timer.dataset.timeUp = String(up);
  timer.title = solved ? 'Every check passed: the clock stopped' : ticking ? 'Time left: the attempt ends, with the score it has, at zero' : up ? 'The attempt ended at its time limit' : 'Starts when you press Start';
  timer.setAttribute('aria-label', ticking ? 'time left' : 'time limit');
  if (left?.timeUp) askRefresh();
  if (drawnRunning !== attemptRunning()) drawButtons();
}

/**
 * At zero the agent scores the attempt and removes its scenario, then says so (lab.changed). Ask
 * for its record too — at once, then every few seconds for a while — in case that news is lost
 * (a reconnect) or the agent predates deadlines: the page must not wait forever.
 */
function askRefresh(): void {
  const now = Date.now();
  if (!connected || refreshAsks.count >= 12 || now - refreshAsks.last < 5_000) return;
  refreshAsks = { count: refreshAsks.count + 1, last: now };
  send({ type: 'refresh' });
}

/** The time-up banner: while the agent ends the attempt, then when it ended and with what score. */
let timeUpDrawn = '';
function drawTimeUp(): void {
  const text = expired() ? 'Time is up: the attempt is being scored and its scenario removed…' : !state.startedAt && state.timeUp ? timeUpText(state.timeUp, new Date()) : '';
  // Only when the words change: an alert is read out each time it is rewritten.
  if (text === timeUpDrawn) return;
  timeUpDrawn = text;
  timeUpBox.hidden = text === '';
  timeUpBox.textContent = text;
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

function drawChecks(): void {
  report.draw(state.report ?? null, detail, state.startedAt ? null : (state.timeUp ?? null));
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
      applyProgress(detail.progress);
      // A saved report the agent's record contradicts (a check since, from the CLI or another window) is stale.
      if (state.report && reportIsStale(state.report, detail.progress)) state.report = null;
      save();
      drawHeader();
      drawTask();
      drawHints();
      drawChecks();
      break;
    case 'started':
      state.startedAt = message.started.startedAt;
      state.deadline = message.started.deadline ?? null;
      state.timeLimitMinutes = message.started.timeLimitMinutes;
      state.timeUp = null;
      state.report = null;
      state.solvedAt = null;
      refreshAsks = { count: 0, last: 0 };
      report.closeHints();
      save();
      showError(null);
      drawHeader();
      drawChecks();
      break;
    case 'report':
      state.report = message.report;
      if (message.report.passed && attemptRunning()) state.solvedAt ??= Date.now();
      save();
      showError(null);
      drawChecks();
      drawButtons();
      document.getElementById('score')?.focus();
      break;
    case 'stopped':
      state.startedAt = null;
      state.deadline = null;
      state.timeUp = null;
      save();
      drawHeader();
      notice = 'Stopped: the scenario was torn down. Start sets it up again.';
      drawBanner();
      break;
    case 'ended':
      applyProgress(message.progress);
      notice = null;
      save();
      drawHeader();
      drawChecks();
      // Trying again is what is left to do: Start, from the keyboard at once.
      startButton.focus();
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

drawHeader();
drawChecks();
setInterval(drawTimer, 1_000);
send({ type: 'ready' });
