import { completeAccount } from "./accounts.js";
import type { SimContext } from "./context.js";
import { DeviceFlow } from "./device-flow.js";
import { FaultRegistry } from "./faults.js";
import { listen } from "./server.js";
import { TokenStore } from "./tokens.js";
import type { Simulator, SimulatorOptions, SimulatorStats } from "./types.js";

// Slugs codex 0.169 knows, so its default model is listed.
const DEFAULT_MODELS = ["gpt-6.1-sol", "gpt-6-luna", "gpt-5.5"];

/**
 * The default answer: a deterministic echo (several words, so several deltas).
 *
 * @example
 * echoAnswer("hello"); // "You said: hello"
 */
export function echoAnswer(input: string): string {
  return `You said: ${input}`;
}

function emptyStats(): SimulatorStats {
  return {
    usercode: 0,
    deviceToken: 0,
    codeExchange: 0,
    refresh: 0,
    revoke: 0,
    models: 0,
    accountsCheck: 0,
    usage: 0,
    resetCredits: 0,
    responses: 0,
    refreshReuse: 0,
    websocket: 0,
    unknown: [],
  };
}

function resolveAutoApprove(option: SimulatorOptions["autoApprove"]): SimContext["autoApprove"] {
  if (option === undefined) return undefined;
  if (typeof option === "number") return { afterPolls: option, account: {} };
  const { afterPolls, ...account } = option;
  return { afterPolls: afterPolls ?? 0, account: completeAccount(account) };
}

/**
 * Start a local stand-in for auth.openai.com and the Codex backend on loopback.
 *
 * @example
 * const sim = await startSimulator({ interval: 1 });
 * // codex login --device-auth --experimental_issuer ${sim.url}
 * sim.approve(sim.pendingCodes()[0]!, { email: "ada@example.com" });
 * sim.fault("usage-limit", { times: 1 });
 * await sim.close();
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const now = options.now ?? Date.now;
  const host = options.host ?? "127.0.0.1";
  const ctx: SimContext = {
    issuer: "",
    interval: options.interval ?? 5,
    flow: new DeviceFlow((options.codeTtlSeconds ?? 900) * 1000, now),
    // The issuer is known once the port is bound; the store reads it lazily.
    tokens: new TokenStore(() => ctx.issuer, options.accessTokenTtlSeconds ?? 3600, now),
    faults: new FaultRegistry(),
    stats: emptyStats(),
    now,
    autoApprove: resolveAutoApprove(options.autoApprove),
    answer: options.answer ?? echoAnswer,
    models: options.models ?? DEFAULT_MODELS,
    pageAccount: options.pageAccount ?? {},
    limitHits: new Map(),
  };
  const server = await listen(ctx, options, host, options.port ?? 0);
  const urlHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  ctx.issuer = `http://${urlHost}:${server.port}`;

  return {
    url: ctx.issuer,
    approve: (userCode, account) => ctx.flow.approve(userCode, account),
    deny: (userCode) => ctx.flow.deny(userCode),
    pendingCodes: () => ctx.flow.pendingCodes(),
    fault(name, faultOptions) {
      // revoke-all is an event, not a standing condition.
      if (name === "revoke-all") return ctx.tokens.revokeAll();
      ctx.faults.add(name, faultOptions);
    },
    clearFaults: () => ctx.faults.clear(),
    stats: () => ({ ...ctx.stats, unknown: [...ctx.stats.unknown] }),
    issuedTokens: () => ctx.tokens.allIssued(),
    close: () => server.close(),
  };
}
