/**
 * Structured event lines: one JSON object per line on stdout, so log search and incident tooling can
 * pick out "rollback_start"/"rollback_complete" without parsing prose.
 */
export type EventFields = Record<string, string | number | boolean | null | undefined | readonly unknown[] | object>;

export function formatEvent(event: string, fields: EventFields = {}, now: Date = new Date()): string {
  const record: Record<string, unknown> = { event };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) record[key] = value;
  }
  record.time = now.toISOString();
  return JSON.stringify(record);
}

export function emitEvent(event: string, fields: EventFields = {}): void {
  // Plain stdout, not core.info: the line must stay a bare JSON object, whatever core's formatting does.
  process.stdout.write(`${formatEvent(event, fields)}\n`);
}
