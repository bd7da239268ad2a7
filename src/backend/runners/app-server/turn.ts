/**
 * One turn on a session's app-server: `turn/start` on the session's thread,
 * agent-message deltas out as `assistant-text` appends as they arrive (with
 * the session's tokens scrubbed), and the turn's end as a final event that the
 * runner hands over only after it has let go of the process.
 */
import type { RunEvent, Usage } from "../../../contract.js";
import { CodexError } from "../../core/errors.js";
import { toErrorEvent } from "../error-event.js";
import { errorForMessage } from "../cli/events.js";
import { secretsOf } from "../cli/home.js";
import type { ResolvedAppServerOptions } from "./options.js";
import type { RateLimitSnapshot } from "./protocol/v2/RateLimitSnapshot";
import type { TokenUsageBreakdown } from "./protocol/v2/TokenUsageBreakdown";
import type { TurnError } from "./protocol/v2/TurnError";
import type { Notification } from "./rpc.js";
import { StreamScrubber, scrubText } from "./scrub.js";
import type { AppServer } from "./server-process.js";

export interface TurnInput {
  prompt: string;
  model: string | undefined;
  instructions: string | undefined;
  /** The account's plan, for a usage-limit error when the rate-limit read names none. */
  planType: string | null | undefined;
}

/** How a turn ended: the last event to hand over (none when the caller aborted), and whether the process must go. */
export interface TurnEnd {
  event: RunEvent | undefined;
  /** The process did not stop the turn when asked: it cannot be trusted with the next one. */
  stopProcess: boolean;
}

type Wake = "note" | "closed" | "abort" | "idle" | "total";

export async function* runTurn(opts: ResolvedAppServerOptions, server: AppServer, input: TurnInput, signal: AbortSignal): AsyncGenerator<RunEvent, TurnEnd, undefined> {
  const { rpc } = server;
  const context = { paths: [server.home] };
  const notes: Notification[] = [];
  let wake: ((why: Wake) => void) | undefined;
  const notify = (why: Wake) => {
    const waiter = wake;
    wake = undefined;
    waiter?.(why);
  };
  const unlisten = rpc.listen((note) => {
    notes.push(note);
    notify("note");
  });
  const onAbort = () => notify("abort");
  signal.addEventListener("abort", onAbort, { once: true });
  // Not proc.exited.then(): a long-lived process would keep one callback per turn it ever ran.
  const unlistenClose = rpc.onClose(() => notify("closed"));
  let totalExpired = false;
  const total = setTimeout(() => {
    totalExpired = true;
    notify("total");
  }, opts.timeouts.turnTotalMs);
  const scrubber = new StreamScrubber(secretsOf(server.home));
  let interruptOnExit: () => void = () => undefined;
  /** The turn reported its end, or was interrupted and waited for: nothing to interrupt on the way out. */
  const settled = (end: TurnEnd): TurnEnd => {
    interruptOnExit = () => undefined;
    return end;
  };

  try {
    const threadId = await ensureThread(opts, server, input.instructions);
    const started = await rpc.request("turn/start", {
      threadId,
      input: [{ type: "text", text: input.prompt, text_elements: [] }],
      model: input.model ?? opts.model ?? null,
      effort: opts.effort ?? null,
    });
    const turnId = started.turn.id;
    // A consumer may close the iterator at any yield: the finally below then interrupts the turn, so that it
    // spends no more of the account's usage.
    interruptOnExit = () => void rpc.request("turn/interrupt", { threadId, turnId }, opts.timeouts.interruptMs).catch(() => undefined);
    let usage: Usage | undefined;
    let lastError: TurnError | undefined;
    let messageId: string | undefined;
    let wrote = false;

    for (;;) {
      if (signal.aborted) return settled({ event: undefined, stopProcess: !(await interrupt(opts, server, threadId, turnId, notes)) });
      const note = notes.shift();
      if (note) {
        const params = note.params as Record<string, unknown> | undefined;
        if (!params || params.threadId !== threadId) continue;
        if ("turnId" in params && params.turnId !== turnId) continue;
        if (note.method === "item/agentMessage/delta") {
          if (note.params.itemId !== messageId) {
            // A second message of the same turn starts on a new paragraph, as the CLI runner's do.
            const rest = scrubber.flush();
            if (rest) yield { type: "assistant-text", mode: "append", text: rest };
            if (messageId !== undefined && wrote) yield { type: "assistant-text", mode: "append", text: "\n\n" };
            messageId = note.params.itemId;
            scrubber.update(secretsOf(server.home));
          }
          const text = scrubber.push(note.params.delta);
          if (text) {
            wrote = true;
            yield { type: "assistant-text", mode: "append", text };
          }
        } else if (note.method === "thread/tokenUsage/updated") {
          usage = usageOf(note.params.tokenUsage.last);
        } else if (note.method === "error" && !note.params.willRetry) {
          lastError = note.params.error;
        } else if (note.method === "turn/completed" && note.params.turn.id === turnId) {
          const rest = scrubber.flush();
          if (rest) yield { type: "assistant-text", mode: "append", text: rest };
          const ended = note.params.turn;
          if (ended.status === "completed") {
            server.thread!.turns++;
            const result: { usage?: Usage; model?: string } = {};
            if (usage) result.usage = usage;
            const model = input.model ?? opts.model;
            if (model) result.model = model;
            return settled({ event: { type: "done", result }, stopProcess: false });
          }
          if (ended.status === "interrupted") {
            return settled({ event: toErrorEvent(new CodexError("RUN_ABORTED", "The run was interrupted.")), stopProcess: false });
          }
          const error = await turnError(opts, server, ended.error ?? lastError, input.planType, context);
          return settled({ event: toErrorEvent(error), stopProcess: false });
        }
        continue;
      }
      if (rpc.closed) return settled({ event: toErrorEvent(new CodexError("RUN_FAILED", "The codex app-server stopped during the run.")), stopProcess: false });
      if (totalExpired) {
        const stopped = await interrupt(opts, server, threadId, turnId, notes);
        return settled({ event: toErrorEvent(new CodexError("UPSTREAM_TIMEOUT", "The run took too long and was stopped.")), stopProcess: !stopped });
      }
      const why = await new Promise<Wake>((resolve) => {
        const idle = setTimeout(() => notify("idle"), opts.timeouts.turnIdleMs);
        wake = (w) => {
          clearTimeout(idle);
          resolve(w);
        };
      });
      if (why === "idle") {
        const stopped = await interrupt(opts, server, threadId, turnId, notes);
        return settled({ event: toErrorEvent(new CodexError("UPSTREAM_TIMEOUT", "The answer stopped arriving and the run was stopped.")), stopProcess: !stopped });
      }
    }
  } catch (error) {
    if (signal.aborted) return { event: undefined, stopProcess: false };
    const failure = error instanceof CodexError ? error : errorForMessage(error instanceof Error ? error.message : "", context);
    return { event: toErrorEvent(failure), stopProcess: false };
  } finally {
    clearTimeout(total);
    signal.removeEventListener("abort", onAbort);
    unlisten();
    unlistenClose();
    interruptOnExit();
  }
}

/** The session's thread, started on first use and again when the app's instructions change. */
async function ensureThread(opts: ResolvedAppServerOptions, server: AppServer, instructions: string | undefined): Promise<string> {
  if (server.thread && server.thread.instructions === instructions) return server.thread.id;
  const { thread } = await server.rpc.request("thread/start", {
    ephemeral: true,
    cwd: `${server.home}/work`,
    sandbox: "read-only",
    approvalPolicy: "never",
    model: opts.model ?? null,
    developerInstructions: instructions ?? null,
  });
  server.thread = { id: thread.id, instructions, turns: 0 };
  return thread.id;
}

/** `turn/interrupt`, then wait (bounded) for the turn to report its end. True when it did. */
async function interrupt(opts: ResolvedAppServerOptions, server: AppServer, threadId: string, turnId: string, notes: Notification[]): Promise<boolean> {
  const ended = () => notes.some((n) => n.method === "turn/completed" && n.params.turn.id === turnId);
  if (ended()) return true;
  const done = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => finish(false), opts.timeouts.interruptMs);
    const unlisten = server.rpc.listen((note) => {
      if (note.method === "turn/completed" && note.params.turn.id === turnId) finish(true);
    });
    const unlistenClose = server.rpc.onClose(() => finish(false));
    function finish(value: boolean) {
      clearTimeout(timer);
      unlisten();
      unlistenClose();
      resolve(value);
    }
  });
  try {
    await server.rpc.request("turn/interrupt", { threadId, turnId }, opts.timeouts.interruptMs);
  } catch {
    // The turn may have ended on its own meanwhile; `done` says.
  }
  return (await done) || ended();
}

function usageOf(last: TokenUsageBreakdown): Usage {
  const usage: Usage = { inputTokens: last.inputTokens, outputTokens: last.outputTokens };
  if (last.cachedInputTokens > 0) usage.cachedInputTokens = last.cachedInputTokens;
  if (last.reasoningOutputTokens > 0) usage.reasoningTokens = last.reasoningOutputTokens;
  return usage;
}

const UNAVAILABLE = new Set(["serverOverloaded", "internalServerError", "httpConnectionFailed", "responseStreamConnectionFailed", "responseStreamDisconnected", "responseTooManyFailedAttempts"]);

/** A failed turn's error → our code; the message is the binary's, sanitised and scrubbed. */
async function turnError(
  opts: ResolvedAppServerOptions,
  server: AppServer,
  error: TurnError | undefined,
  planType: string | null | undefined,
  context: { paths: string[] },
): Promise<CodexError> {
  const message = readable(scrubText(error?.message ?? "", secretsOf(server.home)));
  const info = error?.codexErrorInfo;
  const kind = typeof info === "string" ? info : info && typeof info === "object" ? Object.keys(info)[0] : undefined;
  const fromMessage = errorForMessage(message || "The codex app-server failed the run.", context);
  // The binary files a plan without Codex under usage limits too; its message says which it is.
  if (kind === "usageLimitExceeded" && fromMessage.code === "USAGE_NOT_INCLUDED") {
    const plan = planType ?? undefined;
    return new CodexError("USAGE_NOT_INCLUDED", fromMessage.message, { details: plan ? { planType: plan } : {} });
  }
  if (kind === "usageLimitExceeded") {
    const limits = await readRateLimits(opts, server);
    const details: { resetsAt?: number; planType?: string } = {};
    const resetsAt = resetOf(limits);
    if (resetsAt !== undefined) details.resetsAt = resetsAt;
    const plan = limits?.planType ?? planType;
    if (plan) details.planType = plan;
    return new CodexError("USAGE_LIMIT", fromMessage.message, { details });
  }
  if (kind === "unauthorized") return new CodexError("NOT_AUTHENTICATED", fromMessage.message);
  if (kind === "modelNotFound") return new CodexError("MODEL_NOT_AVAILABLE", fromMessage.message);
  if (kind === "contextWindowExceeded") return new CodexError("PROMPT_TOO_LONG", fromMessage.message);
  if (kind !== undefined && UNAVAILABLE.has(kind) && fromMessage.code === "RUN_FAILED") return new CodexError("UPSTREAM_UNAVAILABLE", fromMessage.message);
  return fromMessage;
}

/** A backend body the binary quotes whole (`{"detail": "…"}`) says more as its detail alone. */
function readable(message: string): string {
  try {
    const detail = (JSON.parse(message) as { detail?: unknown }).detail;
    return typeof detail === "string" ? detail : message;
  } catch {
    return message;
  }
}

/** The account's rate limits as the app-server reads them now, else the last snapshot it reported. */
async function readRateLimits(opts: ResolvedAppServerOptions, server: AppServer): Promise<RateLimitSnapshot | undefined> {
  try {
    const read = await server.rpc.request("account/rateLimits/read", { excludeResetCreditDetails: true }, opts.timeouts.requestMs);
    return read.rateLimits;
  } catch {
    return server.rateLimits;
  }
}

/** When the exhausted window resets (the latest of the full ones, else of any), epoch ms. */
function resetOf(limits: RateLimitSnapshot | undefined): number | undefined {
  const windows = [limits?.primary, limits?.secondary].filter((w) => w != null && typeof w.resetsAt === "number");
  const full = windows.filter((w) => w!.usedPercent >= 100);
  const chosen = (full.length > 0 ? full : windows).map((w) => w!.resetsAt!);
  return chosen.length > 0 ? Math.max(...chosen) * 1000 : undefined;
}
