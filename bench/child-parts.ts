/**
 * What the benches' server children (bench/server-child.ts, bench/redis-child.ts)
 * share: the cookie secret, a runner that signs in at once, signing in over a
 * `post` of the caller's, and answering the bench's "cpu" and "stop" messages.
 */
import type { CodexRunner } from "../src/backend/runners/types.js";

export const SECRET = "bench-Secret-7Hq2Zr9Lm4Xv1Kp8Wd";

/** Signs in at once, keeping what a real runner keeps: a few short strings in ctx.data. */
export const signedInRunner: CodexRunner = {
  async startDeviceLogin(ctx) {
    ctx.data.loggedIn = true;
    return { status: "authenticated", account: { email: "bench@example.com" } };
  },
  async getStatus(ctx) {
    return ctx.data.loggedIn === true ? { status: "authenticated", account: { email: "bench@example.com" } } : { status: "logged_out" };
  },
  async *run() {
    yield { type: "done", result: {} };
  },
  async logout(ctx) {
    delete ctx.data.loggedIn;
  },
};

/** POST /session then /login/start through `post` (a route path and the cookie so far); returns the signed-in cookie. */
export async function signIn(post: (path: string, cookie?: string) => Promise<Response>): Promise<string> {
  const cookie = cookieOf(await post("/session"));
  const login = await post("/login/start", cookie);
  if (login.status !== 200) throw new Error(`bench: login failed (${login.status})`);
  return login.headers.getSetCookie().length > 0 ? cookieOf(login) : cookie;
}

/** The `name=value` pair of the response's first Set-Cookie. */
export function cookieOf(response: Response): string {
  const header = response.headers.getSetCookie()[0];
  if (!header) throw new Error(`bench: no Set-Cookie (status ${response.status})`);
  return header.split(";")[0] as string;
}

/** Answers the bench over IPC: "cpu" with this process's CPU time so far (µs), "stop" by calling `stop`. */
export function answerBench(stop: () => void): void {
  process.on("message", (m) => {
    if (m === "cpu") process.send?.({ cpuMicros: cpuMicros() });
    if (m === "stop") stop();
  });
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}
