import * as core from '@actions/core';
import { formatDuration } from '../duration.js';

/**
 * Long steps (a dump of a big table, a restore) log their tool's own progress lines inside a
 * collapsible group, plus a heartbeat every `everyMs` saying how far they got, so a step is never a
 * silent minute in the log.
 */
export interface Heartbeat {
  everyMs: number;
  /** E.g. "1.2 GB written" (called on each beat). */
  describe: () => Promise<string> | string;
}

export async function withProgressGroup<T>(
  title: string,
  fn: (log: (line: string) => void) => Promise<T>,
  heartbeat?: Heartbeat,
): Promise<T> {
  const started = Date.now();
  core.startGroup(title);
  let timer: NodeJS.Timeout | undefined;
  if (heartbeat) {
    timer = setInterval(() => {
      void Promise.resolve(heartbeat.describe())
        .then((text) => core.info(`... ${formatDuration(Date.now() - started)}: ${text}`))
        .catch(() => undefined);
    }, heartbeat.everyMs);
    timer.unref();
  }
  try {
    return await fn((line) => {
      if (line.trim() !== '') core.info(line);
    });
  } finally {
    if (timer) clearInterval(timer);
    core.endGroup();
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
