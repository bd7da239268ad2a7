import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { authenticate } from "./backend-auth.js";
import type { RouteHandler, SimContext } from "./context.js";
import { enterEndpoint } from "./endpoint-faults.js";
import { parseJsonObject, sendJson } from "./http.js";
import { estimateTokens, splitDeltas } from "./responses-input.js";
import { isRefusal, planTurn, type TurnPlan } from "./responses-turn.js";
import { SseWriter } from "./sse.js";
import type { TestAccount } from "./types.js";
import { limitedMeter, meterHeaders } from "./usage.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The 429 of an exhausted plan, with the meter headers the CLI reads. */
function usageLimit(ctx: SimContext, res: ServerResponse, account: Required<TestAccount>): boolean {
  const fault = ctx.faults.take("usage-limit");
  if (!fault) return false;
  const nowSeconds = Math.floor(ctx.now() / 1000);
  const hit = { resetsAt: fault.resetsAt ?? nowSeconds + 3600, planType: fault.planType ?? account.planType };
  // The account's usage read says so too, until the reset.
  ctx.limitHits.set(account.accountId, hit);
  const body = {
    error: {
      type: "usage_limit_reached",
      message: "The usage limit has been reached",
      plan_type: hit.planType,
      resets_at: hit.resetsAt,
      resets_in_seconds: Math.max(0, hit.resetsAt - nowSeconds),
    },
  };
  sendJson(res, 429, body, meterHeaders(limitedMeter(ctx, hit)));
  return true;
}

/** Faults that answer the turn with an error instead of a stream. */
function errorFaults(ctx: SimContext, res: ServerResponse, account: Required<TestAccount>, model: string): boolean {
  if (usageLimit(ctx, res, account)) return true;
  const notIncluded = ctx.faults.take("usage-not-included");
  if (notIncluded) {
    sendJson(res, 429, {
      error: {
        type: "usage_not_included",
        message: "Your plan does not include Codex.",
        plan_type: notIncluded.planType ?? "free",
      },
    });
    return true;
  }
  const unsupported = ctx.faults.take("model-not-supported");
  if (unsupported) {
    const name = unsupported.model ?? model;
    sendJson(res, 400, { detail: `The '${name}' model is not supported when using Codex with a ChatGPT account.` });
    return true;
  }
  return false;
}

/** `POST /backend-api/codex/responses`: one assistant message, streamed as the Responses API does. */
export const responses: RouteHandler = async (ctx, { req, res, body }) => {
  if (enterEndpoint(ctx, "responses", res)) return;
  const account = authenticate(ctx, req, res);
  if (!account) return;
  const json = parseJsonObject(body);
  if (!json) return sendJson(res, 400, { detail: "Request body must be a JSON object." });
  const model = typeof json["model"] === "string" ? json["model"] : "";
  if (!model) return sendJson(res, 400, { detail: "model is required." });
  if (json["stream"] !== true) return sendJson(res, 400, { detail: "Stream must be set to true" });
  if (json["store"] !== false) return sendJson(res, 400, { detail: "Store must be set to false" });
  const plan = planTurn(json);
  if (isRefusal(plan)) return sendJson(res, plan.status, { detail: plan.detail });
  if (errorFaults(ctx, res, account, model)) return;

  const answer = plan.output.kind === "text" ? await ctx.answer(plan.output.prompt, { model, account }) : plan.output.kind === "text-of-tool" ? plan.output.text : "";
  await stream(ctx, res, { model, answer, plan, inputTokens: estimateTokens(body) });
};

async function stream(
  ctx: SimContext,
  res: ServerResponse,
  turn: { model: string; answer: string; plan: TurnPlan; inputTokens: number },
): Promise<void> {
  const cut = ctx.faults.take("cut-stream") !== undefined;
  const slow = ctx.faults.take("slow-stream");
  const sse = new SseWriter(res, ctx.faults.take("malformed-sse") !== undefined);
  const responseId = `resp_${randomBytes(12).toString("hex")}`;
  const itemId = `msg_${randomBytes(12).toString("hex")}`;
  const createdAt = Math.floor(ctx.now() / 1000);
  const base = { id: responseId, object: "response", created_at: createdAt, model: turn.model };
  sse.open();
  sse.send({ type: "response.created", response: { ...base, status: "in_progress", output: [] } });
  sse.send({ type: "response.in_progress", response: { ...base, status: "in_progress", output: [] } });
  const output: Record<string, unknown>[] = [];
  if (turn.plan.reasoning !== undefined) output.push(sendReasoning(sse, output.length, turn.plan.reasoning));
  if (turn.plan.output.kind === "call") {
    output.push(sendCall(sse, output.length, turn.plan.output));
  } else {
    const index = output.length;
    sse.send({
      type: "response.output_item.added",
      output_index: index,
      item: { id: itemId, type: "message", status: "in_progress", role: "assistant", content: [] },
    });
    sse.send({
      type: "response.content_part.added",
      item_id: itemId,
      output_index: index,
      content_index: 0,
      part: { type: "output_text", text: "", annotations: [] },
    });
    const deltas = splitDeltas(turn.answer);
    for (const [n, delta] of deltas.entries()) {
      if (n > 0 && slow) await sleep(slow.delayMs ?? 200);
      if (sse.closed) return;
      sse.send({ type: "response.output_text.delta", item_id: itemId, output_index: index, content_index: 0, delta });
      // A cut stream stops after the first delta: the client must treat it as an error.
      if (cut) return sse.end();
    }
    if (cut) return sse.end();
    const part = { type: "output_text", text: turn.answer, annotations: [] };
    const message = { id: itemId, type: "message", status: "completed", role: "assistant", content: [part] };
    sse.send({ type: "response.output_text.done", item_id: itemId, output_index: index, content_index: 0, text: turn.answer });
    sse.send({ type: "response.content_part.done", item_id: itemId, output_index: index, content_index: 0, part });
    sse.send({ type: "response.output_item.done", output_index: index, item: message });
    output.push(message);
  }
  const outputTokens = estimateTokens(turn.answer);
  sse.send({
    type: "response.completed",
    response: {
      ...base,
      status: "completed",
      output,
      usage: {
        input_tokens: turn.inputTokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: turn.inputTokens + outputTokens,
      },
    },
  });
  sse.end();
}

/** A reasoning item: its summary streamed, its encrypted content (when asked for) on the finished item. */
function sendReasoning(sse: SseWriter, index: number, reasoning: NonNullable<TurnPlan["reasoning"]>): Record<string, unknown> {
  const id = `rs_${randomBytes(12).toString("hex")}`;
  sse.send({ type: "response.output_item.added", output_index: index, item: { id, type: "reasoning", summary: [] } });
  const part = { type: "summary_text", text: reasoning.summary };
  sse.send({ type: "response.reasoning_summary_part.added", item_id: id, output_index: index, summary_index: 0, part: { ...part, text: "" } });
  sse.send({ type: "response.reasoning_summary_text.delta", item_id: id, output_index: index, summary_index: 0, delta: reasoning.summary });
  sse.send({ type: "response.reasoning_summary_text.done", item_id: id, output_index: index, summary_index: 0, text: reasoning.summary });
  sse.send({ type: "response.reasoning_summary_part.done", item_id: id, output_index: index, summary_index: 0, part });
  const item: Record<string, unknown> = { id, type: "reasoning", summary: [part] };
  if (reasoning.encryptedContent !== undefined) item["encrypted_content"] = reasoning.encryptedContent;
  sse.send({ type: "response.output_item.done", output_index: index, item });
  return item;
}

/** A function call: its arguments streamed in two deltas, then the finished item. */
function sendCall(sse: SseWriter, index: number, call: { name: string; arguments: string; callId: string }): Record<string, unknown> {
  const id = `fc_${randomBytes(12).toString("hex")}`;
  const item = { id, type: "function_call", status: "in_progress", call_id: call.callId, name: call.name, arguments: "" };
  sse.send({ type: "response.output_item.added", output_index: index, item });
  const half = Math.ceil(call.arguments.length / 2);
  for (const delta of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
    sse.send({ type: "response.function_call_arguments.delta", item_id: id, output_index: index, delta });
  }
  sse.send({ type: "response.function_call_arguments.done", item_id: id, output_index: index, arguments: call.arguments });
  const done = { ...item, status: "completed", arguments: call.arguments };
  sse.send({ type: "response.output_item.done", output_index: index, item: done });
  return done;
}
