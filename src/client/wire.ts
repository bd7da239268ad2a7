import type { Account, LoginAlreadyAuthenticated, LoginStarted, StatusAuthenticated, StatusPending, Usage } from "../contract.js";

/**
 * A parsed JSON value seen as a possible `Shape`: every field the contract
 * declares may be read and is `unknown` until checked, and reading a name the
 * contract does not declare fails to compile, so a renamed wire field breaks the
 * client's build. JSON strings, numbers and booleans have none of these fields.
 * @example const userCode = (body as Unchecked<LoginStarted>)?.userCode; // unknown
 */
export type Unchecked<Shape> = { readonly [Name in keyof Shape]?: unknown } | null | undefined;

/**
 * The value when it is a string, otherwise undefined.
 * @example stringOrUndefined(42) // undefined
 */
export function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * The value when it is a number, otherwise undefined.
 * @example numberOrUndefined("42") // undefined
 */
export function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

/**
 * An account as the server sends it: `email` is a string, or null when the
 * account has none. The optional fields are only shown, never relied on.
 * @example isAccount({ email: "user@example.com" }) // true
 */
export function isAccount(value: unknown): value is Account {
  const email = (value as Unchecked<Account>)?.email;
  return typeof email === "string" || email === null;
}

/**
 * A `/status` answer for a signed-in session.
 * @example isStatusAuthenticated({ ok: true, account: { email: null } }) // true
 */
export function isStatusAuthenticated(body: unknown): body is StatusAuthenticated {
  return isAccount((body as Unchecked<StatusAuthenticated>)?.account);
}

/**
 * A `/status` answer while the device code waits for approval.
 * @example isStatusPending({ ok: false, status: "pending" }) // true
 */
export function isStatusPending(body: unknown): body is StatusPending {
  return (body as Unchecked<StatusPending>)?.status === "pending";
}

/**
 * A `/login/start` answer for a session that is already signed in.
 * @example isLoginAlreadyAuthenticated({ ok: true, loggedIn: true }) // true
 */
export function isLoginAlreadyAuthenticated(body: unknown): body is LoginAlreadyAuthenticated {
  return (body as Unchecked<LoginAlreadyAuthenticated>)?.loggedIn === true;
}

/**
 * A `/login/start` answer with a device code and a positive expiry. Its login
 * URL is still unchecked: `isAllowedLoginUrl` decides on it.
 * @example hasDeviceCode({ loginUrl, userCode: "ABCD-EFGH", expiresAt: Date.now() + 900_000 }) // true
 */
export function hasDeviceCode(body: unknown): body is Pick<LoginStarted, "userCode" | "expiresAt"> & NonNullable<Unchecked<LoginStarted>> {
  const started = body as Unchecked<LoginStarted>;
  const expiresAt = started?.expiresAt;
  return typeof started?.userCode === "string" && typeof expiresAt === "number" && expiresAt > 0;
}

/**
 * Usage counts as the run's `done` event carries them; the optional counts are
 * passed on as they came.
 * @example isUsage({ inputTokens: 3, outputTokens: 4 }) // true
 */
export function isUsage(value: unknown): value is Usage {
  const usage = value as Unchecked<Usage>;
  return typeof usage?.inputTokens === "number" && typeof usage?.outputTokens === "number";
}
