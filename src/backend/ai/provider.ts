import { createOpenAI } from "@ai-sdk/openai";
import { wrapLanguageModel, type LanguageModel, type LanguageModelMiddleware } from "ai";
import { CodexError } from "../core/errors.js";
import { handlerParts, type CodexRequestInfo } from "../core/handler.js";
import type { CodexHandlerOptions } from "../core/options.js";
import { errorReply } from "../http/replies.js";
import { toResponse } from "../http/reply.js";
import { limitRefusal, RATE_LIMITED_MESSAGE } from "../routes/shared.js";
import { codexErrorOf } from "./api-error.js";
import { modelFetch } from "./model-fetch.js";

/** Options of `createCodexAI` beyond the handler's. */
export interface CodexAIOptions {
  /**
   * Let one session make several model calls at once. Default false: a call
   * while another of the session's runs (or a /run/stream) is in flight fails
   * with RUN_IN_PROGRESS, as the handler's own runs do.
   */
  concurrentRuns?: boolean;
}

/** An AI SDK provider bound to one signed-in session. Holds no token. */
export interface CodexProvider {
  /** A Responses model on the session's account, for `streamText`, `generateText`, tools and structured output. */
  languageModel(modelId: string): Exclude<LanguageModel, string>;
}

export interface CodexAI {
  /**
   * The provider for the session `request`'s cookie names (the cookie the
   * handler set). Throws CodexError: NO_SESSION, SESSION_ROTATED,
   * NOT_AUTHENTICATED (not signed in), RATE_LIMITED (the handler's run limits).
   */
  providerFor(request: Request, info?: CodexRequestInfo): Promise<CodexProvider>;
  /** The JSON error Response for anything `providerFor` or a model call threw (INTERNAL for foreign errors). */
  errorResponse(error: unknown): Response;
}

/**
 * The AI SDK on the signed-in user's account. Give it the options object the
 * handler was built from: the provider and the handler then share sessions,
 * rate limits and the one-run-per-session lock. Needs a runner that holds the
 * tokens itself (directRunner).
 *
 * @example
 * const codex = createCodexAI(codexOptions);
 * export async function POST(request: Request) {
 *   try {
 *     const provider = await codex.providerFor(request);
 *     const { messages } = await request.json();
 *     return streamText({ model: provider.languageModel("gpt-5.5"), messages: await convertToModelMessages(messages) }).toUIMessageStreamResponse();
 *   } catch (error) {
 *     return codex.errorResponse(error);
 *   }
 * }
 */
export function createCodexAI(options: CodexHandlerOptions, aiOptions: CodexAIOptions = {}): CodexAI {
  const parts = handlerParts(options);
  const responses = parts.deps.opts.runner.responses?.bind(parts.deps.opts.runner);
  if (responses === undefined) {
    throw new TypeError("createCodexAI: this runner cannot serve the AI SDK (it does not hold the tokens itself); use directRunner()");
  }
  const allowedModels = parts.deps.opts.runPolicy.models;
  return {
    async providerFor(request, info) {
      const clientIp = parts.clientIpOf(request, info);
      const deps = parts.scoped(clientIp);
      const found = await deps.sessions.lookup(request);
      if (found.kind === "rotated") throw new CodexError("SESSION_ROTATED", "The session was just rotated; try again.");
      if (found.kind === "none") throw new CodexError("NO_SESSION", "No session.");
      const { session } = found;
      if (!session.authenticated) throw new CodexError("NOT_AUTHENTICATED", "Sign in first.");
      const refusal = await limitRefusal(deps, "ai", [["runPerIp", clientIp], ["runPerSession", session.handle]], session);
      if (refusal !== null) throw new CodexError("RATE_LIMITED", RATE_LIMITED_MESSAGE, { details: refusal });
      const fetch = modelFetch({ deps, session, ctx: deps.sessions.contextFor(session), responses, concurrent: aiOptions.concurrentRuns === true });
      // The key is never sent: the fetch above puts the session's own token on each call.
      const openai = createOpenAI({ apiKey: "codex-auth", baseURL: "https://codex-auth.invalid/v1", fetch, name: "codex-auth" });
      return {
        languageModel(modelId) {
          if (Array.isArray(allowedModels) && !allowedModels.includes(modelId)) {
            throw new CodexError("MODEL_NOT_AVAILABLE", "This model is not allowed here.", { details: { models: [...allowedModels] } });
          }
          return wrapLanguageModel({ model: openai.responses(modelId), middleware: STATELESS });
        },
      };
    },
    errorResponse(error) {
      const body = codexErrorOf(error);
      if (body === undefined) parts.deps.log.error("codex-auth/ai call failed", { error: error instanceof Error ? error.name : typeof error });
      const { code, error: message, ...details } = body ?? { code: "INTERNAL" as const, error: "Something went wrong." };
      return toResponse(errorReply(code, message, { details }));
    },
  };
}

/**
 * The Codex backend keeps nothing between calls (`store: false`): the SDK
 * must send every turn in full, never item references, and ask for reasoning
 * in encrypted form so that it can be passed back on the next turn.
 */
const STATELESS: LanguageModelMiddleware = {
  specificationVersion: "v3",
  transformParams: async ({ params }) => {
    const openai = params.providerOptions?.openai ?? {};
    const include = Array.isArray(openai.include) ? openai.include.filter((item): item is string => typeof item === "string") : [];
    return {
      ...params,
      providerOptions: {
        ...params.providerOptions,
        openai: { ...openai, store: false, include: [...new Set([...include, "reasoning.encrypted_content"])] },
      },
    };
  },
};
