/*
 * Human-readable output: aligned tables, short ids, "3 minutes ago". Machine-readable output is
 * always `--json`, which prints the protocol's own objects unchanged.
 */
import { formatPublishedPorts, type ContainerRecord, type ContainerSummary } from '../protocol';

/** Columns padded to the widest cell; the last column is not padded (no trailing spaces). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('   ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

export function ago(isoTime: string | null, now = Date.now()): string {
  if (!isoTime) return '-';
  const seconds = Math.max(0, Math.round((now - Date.parse(isoTime)) / 1000));
  if (!Number.isFinite(seconds)) return isoTime;
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size) {
      const count = Math.floor(seconds / size);
      return `${count} ${name}${count === 1 ? '' : 's'} ago`;
    }
  }
  return seconds < 2 ? 'just now' : `${seconds} seconds ago`;
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

export function statusText(summary: Pick<ContainerSummary, 'status' | 'exitCode'>): string {
  if (summary.status === 'stopped' && summary.exitCode !== null) return `stopped (${summary.exitCode})`;
  return summary.status;
}

export function containerTable(containers: ContainerSummary[], now = Date.now()): string {
  const rows = containers.map((container) => [
    shortId(container.id),
    container.name,
    statusText(container),
    container.pid === null ? '-' : String(container.pid),
    container.ip ?? '-',
    JSON.stringify(truncate(container.command, 30)),
    ago(container.createdAt, now),
    // As docker ps: a stopped container's ports are only asked for, no rule forwards them.
    container.status === 'stopped' ? '' : formatPublishedPorts(container.ports ?? []),
  ]);
  return table(['ID', 'NAME', 'STATUS', 'PID', 'IP', 'COMMAND', 'CREATED', 'PORTS'], rows);
}

function bytes(value: number | null): string {
  if (value === null) return 'unlimited';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${Number.isInteger(size) ? size : size.toFixed(1)} ${units[unit]}`;
}

/** The `inspect` summary without --json: what a learner looks at first. */
export function recordSummary(record: ContainerRecord): string {
  const lines: string[] = [];
  const field = (label: string, value: string): void => {
    lines.push(`${`${label}:`.padEnd(12)} ${value}`);
  };
  field('Name', record.name);
  field('ID', record.id);
  field('Status', statusText(record) + (record.oomKilled ? ', OOM-killed' : ''));
  field('PID', record.pid === null ? '-' : String(record.pid));
  field('Image', record.image);
  field('Hostname', record.hostname ?? '-');
  field('Command', JSON.stringify(record.config.process?.args ?? []));
  field('Created', `${record.createdAt} (${ago(record.createdAt)})`);
  if (record.startedAt) field('Started', record.startedAt);
  if (record.finishedAt) field('Finished', record.finishedAt);

  lines.push('', 'Namespaces:');
  const types = Object.keys(record.namespaces).sort() as (keyof ContainerRecord['namespaces'])[];
  const namespaceRows = types.map((type) => [
    `  ${type}`,
    String(record.namespaces[type]),
    record.sharedWithHost.includes(type) ? 'shared with host' : 'own',
  ]);
  if (namespaceRows.length === 0) lines.push('  (none: the container is not running)');
  else lines.push(table(['  TYPE', 'INODE', ''], namespaceRows).trimEnd());

  lines.push('', 'Cgroup:');
  if (!record.cgroup) {
    lines.push('  (none)');
  } else {
    const { cgroup } = record;
    lines.push(`  v${cgroup.version} ${cgroup.path}`);
    const cpu = cgroup.limits.cpuQuotaUs === null ? 'unlimited' : `${(cgroup.limits.cpuQuotaUs / cgroup.limits.cpuPeriodUs).toFixed(2)} CPUs`;
    lines.push(`  limits: memory ${bytes(cgroup.limits.memoryBytes)}, cpu ${cpu}, pids ${cgroup.limits.pids ?? 'unlimited'}`);
    if (cgroup.usage) {
      const usage = cgroup.usage;
      lines.push(
        `  usage:  memory ${bytes(usage.memoryCurrentBytes)} (peak ${bytes(usage.memoryPeakBytes)}), ` +
          `cpu ${(usage.cpuUsageNs / 1e9).toFixed(3)} s, pids ${usage.pidsCurrent}, OOM kills ${usage.oomKills}` +
          (usage.frozen ? ', frozen' : ''),
      );
    }
  }

  const rootfs = record.rootfs;
  if (!rootfs) {
    lines.push('', "Rootfs: the host's (no mount namespace of its own)");
  } else {
    lines.push('', 'Rootfs (overlay):');
    lines.push(`  lower:  ${rootfs.lower.join(':')}`);
    lines.push(`  upper:  ${rootfs.upper}`);
    lines.push(`  work:   ${rootfs.work}`);
    lines.push(`  merged: ${rootfs.merged}`);
  }

  const network = record.network;
  lines.push('', `Network (${network.mode}):`);
  if (network.mode === 'bridge') {
    lines.push(`  ${network.ifname ?? 'eth0'} ${network.ip ?? '-'}${network.prefixLength === null ? '' : `/${network.prefixLength}`} mac ${network.mac ?? '-'}`);
    lines.push(`  gateway ${network.gateway ?? '-'}, host side ${network.vethHost ?? '-'} on bridge ${network.bridge ?? '-'}`);
    if (record.ports.length) lines.push(`  ports ${formatPublishedPorts(record.ports)}${record.status === 'stopped' ? ' (not forwarded while stopped)' : ''}`);
  } else {
    lines.push(network.mode === 'host' ? "  the host's network namespace" : '  loopback only');
  }
  lines.push('', `Logs:        ${record.logPath}`);
  return lines.join('\n') + '\n';
}
