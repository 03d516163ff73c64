/*
 * The Security section of the Anatomy page: one row per protection (see ../security-rows.ts) with
 * what the kernel shows, what it protects against, and a "Try without" button — a real <button>,
 * reached with Tab and pressed with Enter or Space — that asks the extension for a copy of this
 * container with that one protection switched, opened beside this page for comparison.
 */
import type { ContainerRecord } from '../../../../agent/protocol';
import { h } from '../../shared/view/vscode-api';
import { isPrivilegedRecord, securityRows, type Protection, type SecurityRow } from '../security-rows';

export interface SecuritySection {
  draw(record: ContainerRecord): void;
  /** Buttons off while a copy is being started, or for good once the container is gone. */
  setEnabled(enabled: boolean): void;
}

export function securitySection(body: HTMLElement, tryWithout: (protection: Protection) => void): SecuritySection {
  let drawn = '';
  let enabled = true;
  const list = h('ul', { class: 'security-list', 'aria-label': 'Protections' });
  const privilegedNote = h('p', { class: 'privileged-note', id: 'privileged-note', hidden: true },
    h('strong', {}, 'privileged: '), 'run with --privileged — every capability, no seccomp filter, every device, nothing of /proc masked.');
  body.append(privilegedNote, list);

  const rowElement = (row: SecurityRow, record: ContainerRecord): HTMLElement => {
    const button = h('button', {
      type: 'button',
      class: 'secondary try-without',
      'data-protection': row.protection,
      title: `Start ${record.name}'s copy with ${row.action.change}, and open its Anatomy beside this one`,
      'aria-label': `${row.action.label} ${row.label}: start a copy of ${record.name} with ${row.action.change}`,
    }, row.action.label);
    button.disabled = !enabled;
    button.addEventListener('click', () => tryWithout(row.protection));
    return h(
      'li',
      { class: 'security-row', 'data-protection': row.protection, 'data-on': String(row.on) },
      h('div', { class: 'security-head' },
        h('strong', { class: 'security-label' }, row.label),
        h('span', { class: row.on ? 'badge protection-on' : 'badge protection-off' }, row.on ? 'on' : 'off'),
        h('span', { class: 'mono security-value' }, row.value),
        button),
      h('p', { class: 'protects' }, row.protects),
      row.details.length ? h('pre', { class: 'security-details mono' }, row.details.join('\n')) : null,
      h('p', { class: 'muted mono security-source' }, `from ${row.source}`),
    );
  };

  return {
    draw(record) {
      const rows = securityRows(record);
      const key = JSON.stringify({ rows, enabled });
      if (key === drawn) return;
      drawn = key;
      privilegedNote.hidden = !isPrivilegedRecord(record);
      // Keep the focus on the same button across a redraw (a new sample changes "in use" counts).
      const focused = (document.activeElement as HTMLElement | null)?.dataset?.protection;
      list.replaceChildren(...rows.map((row) => rowElement(row, record)));
      if (focused) list.querySelector<HTMLButtonElement>(`button[data-protection="${focused}"]`)?.focus();
    },
    setEnabled(value) {
      enabled = value;
      for (const button of list.querySelectorAll('button')) button.disabled = !value;
    },
  };
}
