/**
 * The handler's audit stream as a test's event source: `run_finished` and
 * `run_failed` are emitted after the run lock is released, so waiting for
 * them replaces a guessed sleep before "the session can run again".
 */
import type { CodexAuditEvent } from "../../src/backend/core/audit.js";
import { until } from "./until.js";

export function runEnds() {
  const events: CodexAuditEvent[] = [];
  const ended = () => events.filter((event) => event.type === "run_finished" || event.type === "run_failed").length;
  return {
    /** Pass as the handler's `onEvent`. */
    onEvent: (event: CodexAuditEvent): void => void events.push(event),
    /** Waits until `count` runs have ended (lock released). */
    waitFor: (count = 1) => until(() => ended() >= count, 2000, `${count} run end(s)`),
  };
}
