/**
 * Reapplying a write that lost a compare-and-set: a three-way merge of the
 * session payload. `base` is what the request read, `mine` what it wants to
 * write, `theirs` what the store holds now (another request or instance wrote
 * it). Each runner section is merged key by key; a field only one side changed
 * takes that side's value; a field both changed keeps the store's (the stale
 * writer loses: old tokens never overwrite newer ones), and then the sign-in
 * flag is the store's too, so a failure seen on stale tokens signs nobody out.
 */
import { asRecord } from "../core/json.js";
import type { SessionData } from "../runners/types.js";

/** What the sealed payload holds: the stable handle, the authenticated flag, the runner's data. */
export interface Payload {
  h?: string;
  a?: 1;
  d?: SessionData;
}

/**
 * @example
 * mergePayload({ d: { direct: { tokens: old } } }, { d: {} }, { d: { direct: { tokens: fresh } } })
 * // → { d: { direct: { tokens: fresh } } }: the clear based on old tokens loses to the fresher ones
 */
export function mergePayload(base: Payload, mine: Payload, theirs: Payload): Payload {
  const conflict = { seen: false };
  const data = mergeRecords(base.d, mine.d, theirs.d, conflict, true);
  const merged: Payload = {};
  const handle = theirs.h ?? mine.h;
  if (handle !== undefined) merged.h = handle;
  const flag = conflict.seen ? theirs.a : pick(base.a, mine.a, theirs.a, conflict);
  if (flag === 1) merged.a = 1;
  if (data !== undefined && Object.keys(data).length > 0) merged.d = data;
  return merged;
}

/** Merges two levels deep: the data's sections, then each section's fields. */
function mergeRecords(
  base: unknown,
  mine: unknown,
  theirs: unknown,
  conflict: { seen: boolean },
  descend: boolean,
): Record<string, unknown> | undefined {
  const [b, m, t] = [asRecord(base) ?? {}, asRecord(mine) ?? {}, asRecord(theirs) ?? {}];
  const out: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(b), ...Object.keys(m), ...Object.keys(t)])) {
    const structured = descend && [b[key], m[key], t[key]].every((v) => v === undefined || asRecord(v) !== undefined);
    if (structured) {
      const section = mergeRecords(b[key], m[key], t[key], conflict, false);
      // A section left empty is dropped, as the runners drop theirs when signed out.
      if (section !== undefined && Object.keys(section).length > 0) out[key] = section;
    } else {
      const value = pick(b[key], m[key], t[key], conflict);
      if (value !== undefined) out[key] = value;
    }
  }
  return out;
}

function pick<T>(base: T, mine: T, theirs: T, conflict: { seen: boolean }): T {
  if (same(mine, base)) return theirs;
  if (same(theirs, base) || same(mine, theirs)) return mine;
  conflict.seen = true;
  return theirs;
}

const same = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);
