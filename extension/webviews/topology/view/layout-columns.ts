/*
 * The grid part of the topology's layout (./layout.ts): cards into columns, each column's ports
 * up its stairs, and each bridge's bar over its ports — in x, and in levels up the stairs.
 *
 * Cards come in one sequence, bridge by bridge, then the fillers (./layout-plan.ts), and fill
 * columns top to bottom up to a height limit — so a bridge's last column is topped up with the
 * next bridge's first cards and no column stands half empty. Inside a column the later bridge's
 * cards go on top:
 *
 *    bar of cl0 ──────────┐ ┌── bar of cl1 ──      the top card's port is the lowest and right-most
 *       [veth·cl0]┊        ┊                        of the stairs, and its line up is the right-most:
 *          [veth·cl0]┊     ┊                        so the later bridge's lines rise right of the
 *   (a wider step here) [veth·cl1]┊                 earlier's, where its bar begins. Between two
 *                          [veth·cl1]┊              bridges' ports the stairs take a wider step, so
 *    ┌ card on cl1 ┐                                each bar has room to end before the next begins
 *    ┌ card on cl1 ┐                                (wider still when a bar needs room for its name).
 *    ┌ card on cl0 ┐
 *
 * Port k (k = 0 at the bottom) has its left edge `offsets[k]` from the column's left edge; every
 * step up is at least STAIR_STEP to the left. Its cable goes down LANE_INSET right of that edge,
 * its line up LANE_INSET left of its right edge.
 */
import { LANE_INSET, STAIR_STEP } from './layout-parts';
import type { Slot, Plan } from './layout-plan';

/** Between a column's right-most cable and its cards. */
const GUTTER = 6;
/** The extra step between two bridges' ports in one column. */
const GROUP_STEP = 12;
/** Between a bar's end and the nearest line up (its own, or the next bar's). */
const BAR_CLEAR = 6;
export const COLUMN_GAP = 10;
export const ROW_GAP = 5;

export interface Level {
  port: string;
  /** Index into plan.groups (plan.groups.length: a filler's port, on no bridge). */
  group: number;
  /** The link in the card its cable comes to (null: a spare port). */
  link: string | null;
}

export interface Column {
  x: number;
  width: number;
  /** Where its cards start, from x. */
  gutter: number;
  /** Cards, top to bottom. */
  cards: Slot[];
  height: number;
  /** Its ports, from the bottom of the stairs up. */
  levels: Level[];
  /** Each level's port's left edge, from x. */
  offsets: number[];
}

export interface Grid {
  columns: Column[];
  /** By group index: each bridge's bar, in x. */
  bars: Map<number, { x1: number; x2: number }>;
  width: number;
  /** The tallest stairs. */
  levels: number;
}

interface Draft {
  items: { slot: Slot; group: number }[];
  height: number;
  spares: { port: string; group: number }[];
}

/** Cards into columns no taller than `limit` (a taller card stands alone), spares onto their bridge's stairs. */
function draft(plan: Plan, limit: number): Draft[] {
  const drafts: Draft[] = [];
  const sequence = [...plan.groups.flatMap((group, index) => group.slots.map((slot) => ({ slot, group: index }))), ...plan.fillers.map((slot) => ({ slot, group: plan.groups.length }))];
  for (const item of sequence) {
    let column = drafts[drafts.length - 1];
    if (!column || column.height + ROW_GAP + item.slot.card.height > limit) drafts.push((column = { items: [], height: -ROW_GAP, spares: [] }));
    column.items.push(item);
    column.height += ROW_GAP + item.slot.card.height;
  }
  // later bridges on top (a stable sort keeps each bridge's order)
  for (const column of drafts) column.items.sort((a, b) => b.group - a.group);
  const levelsOf = (column: Draft): number => column.items.reduce((sum, item) => sum + item.slot.lanes.length, 0) + column.spares.length;
  const tallest = Math.max(1, ...drafts.map(levelsOf));
  plan.groups.forEach((group, index) => {
    const mine = drafts.filter((column) => column.items.some((item) => item.group === index));
    for (const port of group.spares) {
      // onto the lowest stairs of the bridge's columns; a bridge with no cards of ours gets columns of its own
      let target = mine.reduce<Draft | undefined>((best, column) => (!best || levelsOf(column) <= levelsOf(best) ? column : best), undefined);
      if (group.slots.length === 0 && (!target || levelsOf(target) >= tallest)) {
        drafts.push((target = { items: [], height: 0, spares: [] }));
        mine.push(target);
      }
      target!.spares.push({ port, group: index });
    }
  });
  return drafts;
}

/** Levels up a column's stairs: each bridge's cables (top card first), then its spares; later bridges lower. */
function levelsFor(column: Draft): Level[] {
  const groups = [...new Set([...column.items.map((item) => item.group), ...column.spares.map((spare) => spare.group)])].sort((a, b) => b - a);
  return groups.flatMap((group) => [
    ...column.items.filter((item) => item.group === group).flatMap((item) => item.slot.lanes.map((lane) => ({ port: lane.port, group, link: lane.link }))),
    ...column.spares.filter((spare) => spare.group === group).map((spare) => ({ port: spare.port, group, link: null })),
  ]);
}

/**
 * Columns with their x, their stairs and the bars: `portWidth` every port's width, `barWidth`
 * the width a bridge's bar needs for its name.
 */
export function arrange(plan: Plan, limit: number, portWidth: number, barWidth: (group: number) => number): Grid {
  const drafts = draft(plan, limit);
  const barred = (group: number): boolean => group < plan.groups.length;
  const lastColumn = new Map<number, number>();
  drafts.forEach((column, index) => {
    for (const group of [...column.items.map((item) => item.group), ...column.spares.map((spare) => spare.group)]) lastColumn.set(group, index);
  });

  const columns: Column[] = [];
  const bars = new Map<number, { x1: number; x2: number }>();
  let x = 0;
  drafts.forEach((draftColumn, index) => {
    const levels = levelsFor(draftColumn);
    const extraStep = new Map<number, number>();
    let extraWidth = 0;
    for (let attempt = 0; ; attempt++) {
      // each step up: STAIR_STEP, more between two bridges
      const offsets: number[] = [0];
      for (let level = 1; level < levels.length; level++) {
        const change = levels[level]!.group !== levels[level - 1]!.group;
        offsets.push(offsets[level - 1]! + STAIR_STEP + (change ? GROUP_STEP + (extraStep.get(level) ?? 0) : 0));
      }
      const total = offsets[offsets.length - 1]!;
      const left = offsets.map((offset) => total - offset);
      const lanes = levels.some((level) => level.link !== null);
      const gutter = lanes ? total + LANE_INSET + GUTTER : 0;
      const width = Math.max(levels.length > 0 ? portWidth + total : 0, gutter + Math.max(0, ...draftColumn.items.map((item) => item.slot.card.width))) + extraWidth;

      // the bars' parts over this column: each bridge's lines up, left to right (earlier bridges left)
      const clusters = [...new Set(levels.map((level) => level.group))].filter(barred).sort((a, b) => a - b);
      const upOf = (level: number): number => left[level]! + portWidth - LANE_INSET;
      const leftmostUp = (group: number): number => Math.min(...levels.flatMap((level, at) => (level.group === group ? [upOf(at)] : [])));
      const parts = new Map(clusters.map((group, at) => [group, { x1: at === 0 ? 0 : leftmostUp(group) - BAR_CLEAR, x2: at === clusters.length - 1 ? width : leftmostUp(clusters[at + 1]!) - 2 * BAR_CLEAR }]));
      // a bar ending here must be as wide as its name: widen the step after it, or the column
      const short = clusters.find((group) => lastColumn.get(group) === index && x + parts.get(group)!.x2 - (bars.get(group)?.x1 ?? x + parts.get(group)!.x1) < barWidth(group));
      // (each widening gives that bar exactly the room it lacked: a second look finds none short)
      if (short !== undefined && attempt < 2 * clusters.length + 2) {
        const deficit = Math.ceil(barWidth(short) - (x + parts.get(short)!.x2 - (bars.get(short)?.x1 ?? x + parts.get(short)!.x1)));
        const next = clusters[clusters.indexOf(short) + 1];
        if (next === undefined) extraWidth += deficit;
        else {
          // the step below this bridge's first level (between the next bridge's ports and its own)
          const boundary = levels.findIndex((level) => level.group === short);
          extraStep.set(boundary, (extraStep.get(boundary) ?? 0) + deficit);
        }
        continue;
      }
      for (const [group, part] of parts) {
        const bar = bars.get(group);
        bars.set(group, { x1: bar?.x1 ?? x + part.x1, x2: x + part.x2 });
      }
      columns.push({ x, width, gutter, cards: draftColumn.items.map((item) => item.slot), height: Math.max(0, draftColumn.height), levels, offsets: left });
      x += width + COLUMN_GAP;
      break;
    }
  });
  return { columns, bars, width: columns.length > 0 ? x - COLUMN_GAP : 0, levels: Math.max(0, ...columns.map((column) => column.levels.length)) };
}
