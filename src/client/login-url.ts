/** Hosts that only ever mean this machine. */
const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/**
 * Whether the popup may navigate to `raw`: https on an exact allowed host
 * (default port, no userinfo), or an exact allowed loopback origin for local
 * development. Everything else (javascript:, data:, http:, lookalikes) is refused.
 * @example isAllowedLoginUrl("https://auth.openai.com/codex/device") // true
 * @example isAllowedLoginUrl("https://auth.openai.com@evil.test/") // false
 */
export function isAllowedLoginUrl(
  raw: string,
  hosts: readonly string[] = ["auth.openai.com"],
  origins: readonly string[] = [],
): boolean {
  try {
    const url = new URL(raw);
    return (
      // userinfo is how `https://auth.openai.com@evil.test` fools a prefix check.
      !url.username &&
      !url.password &&
      ((url.protocol === "https:" && !url.port && hosts.includes(url.hostname)) ||
        // An exact listed origin fixes the scheme and port; only loopback hosts qualify.
        (LOOPBACK_HOST.test(url.hostname) && origins.includes(url.origin)))
    );
  } catch {
    // Not a URL at all.
    return false;
  }
}
