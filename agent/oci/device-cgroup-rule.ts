/*
 * Docker's `--device-cgroup-rule`: one line per device rule, in the syntax of cgroup v1's
 * devices.allow file —
 *
 *     TYPE MAJOR:MINOR ACCESS        c 10:200 rwm     the tun device: create, read, write
 *                                    c 1:3 mr         /dev/null: create and read only
 *                                    b 8:* r          read any SCSI disk
 *                                    a *:* rwm        every device: lifts the whole list
 *
 * TYPE is c (character device), b (block device) or a (all); MAJOR and MINOR are numbers or * for
 * any; ACCESS is some of r (read), w (write), m (mknod). Each rule *allows*: Docker has no deny
 * form, since the default rules already start with "deny everything". The rules are appended to
 * the default ones (../runtime/cgroups/device-rules.ts) as config.json's linux.resources.devices
 * entries, so the document still says everything the kernel is asked to enforce.
 */
import { badInput, quote } from '../errors';
import type { OciDeviceCgroup } from '../protocol';

/** A device number has 12 bits of major and 20 of minor (<linux/kdev_t.h>). */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;

const RULE = /^([abc]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/;
const EXAMPLE = 'use TYPE MAJOR:MINOR ACCESS, e.g. "c 10:200 rwm" (a *:* rwm allows every device)';

function number(text: string, max: number, what: string, rule: string): number | undefined {
  if (text === '*') return undefined;
  const value = Number(text);
  if (value > max) throw badInput(`device cgroup rule ${quote(rule)}: ${what} ${text} is too large (at most ${max})`);
  return value;
}

/** "c 10:200 rwm" → { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }; one-line errors. */
export function parseDeviceCgroupRule(text: unknown): OciDeviceCgroup {
  if (typeof text !== 'string') throw badInput(`invalid device cgroup rule ${quote(text)}: ${EXAMPLE}`);
  const rule = text.trim().replace(/\s+/g, ' ');
  const match = RULE.exec(rule);
  if (!match) throw badInput(`invalid device cgroup rule ${quote(text)}: ${EXAMPLE}`);
  const [, type, majorText, minorText, accessText] = match as unknown as [string, 'a' | 'b' | 'c', string, string, string];
  if (new Set(accessText).size !== accessText.length) throw badInput(`device cgroup rule ${quote(rule)}: access "${accessText}" names a letter twice`);
  const access = ['r', 'w', 'm'].filter((letter) => accessText.includes(letter)).join('');
  if (type === 'a') {
    // The kernel reads "a" as the whole list: a narrower "a" would look like it meant something.
    if (majorText !== '*' || minorText !== '*' || access !== 'rwm') throw badInput(`device cgroup rule ${quote(rule)}: type a means every device: write "a *:* rwm"`);
    return { allow: true, type: 'a', access: 'rwm' };
  }
  const major = number(majorText, MAX_MAJOR, 'major', rule);
  const minor = number(minorText, MAX_MINOR, 'minor', rule);
  return { allow: true, type, ...(major !== undefined ? { major } : {}), ...(minor !== undefined ? { minor } : {}), access };
}

/** The rules of a `run` request, checked; [] when it has none. */
export function parseDeviceCgroupRules(rules: unknown): OciDeviceCgroup[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw badInput('invalid deviceCgroupRules: give a list of rules such as "c 10:200 rwm"');
  return rules.map(parseDeviceCgroupRule);
}

/** A rule back in Docker's syntax ("c 10:200 rwm"), as the annotation and the views show it. */
export function formatDeviceCgroupRule(rule: OciDeviceCgroup): string {
  if ((rule.type ?? 'a') === 'a') return 'a *:* rwm';
  return `${rule.type} ${rule.major ?? '*'}:${rule.minor ?? '*'} ${rule.access ?? 'rwm'}`;
}
