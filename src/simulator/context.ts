import type { IncomingMessage, ServerResponse } from "node:http";
import type { DeviceFlow } from "./device-flow.js";
import type { FaultRegistry } from "./faults.js";
import type { TokenStore } from "./tokens.js";
import type { UsageLimitHit } from "./usage.js";
import type { AnswerContext, SimulatorEndpoint, SimulatorStats, TestAccount } from "./types.js";

/** Everything a route handler needs: the simulator's state and settings. */
export interface SimContext {
  /** Issuer base URL, as the CLI was given it. */
  issuer: string;
  interval: number;
  flow: DeviceFlow;
  tokens: TokenStore;
  faults: FaultRegistry;
  stats: SimulatorStats;
  now: () => number;
  autoApprove?: { afterPolls: number; account: TestAccount };
  answer: (input: string, context: AnswerContext) => string | Promise<string>;
  models: string[];
  /** The account the /codex/device page approves as. */
  pageAccount: TestAccount;
  /** The last usage limit each account hit (by account id), for its usage read. */
  limitHits: Map<string, UsageLimitHit>;
}

/** A request handed to a route: the body is already read and decoded. */
export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: string;
}

/** A route: handles the request completely (or deliberately never answers). */
export type RouteHandler = (ctx: SimContext, request: RouteRequest) => void | Promise<void>;

/** Route table entry. */
export interface Route {
  method: string;
  path: string;
  endpoint: SimulatorEndpoint | "device";
  handler: RouteHandler;
}
