/**
 * What `codex-auth-simulator` prints under its URL: the two lines an app
 * changes to use this simulator, with the URL filled in. Both are easy to get
 * wrong by hand: the runner needs the backend under `/backend-api` (the
 * `upstream` option derives it), and the browser client opens a plain-http
 * sign-in page only from an origin listed in `allowedLoginOrigins`.
 *
 * @example
 * process.stdout.write(quickStartText("http://127.0.0.1:4010"));
 */
export function quickStartText(url: string): string {
  const origin = new URL(url).origin;
  return `
codex-auth simulator: a local stand-in for auth.openai.com and the Codex backend (no real account is used).

Server (server.ts), in the options of createCodexRouter / createCodexHandler:
  runner: directRunner({ upstream: "${url}" }), // from "codex-auth/backend/direct"
  cookieOptions: { secure: false },  // plain-HTTP local development only
  or, with the README's Quick start as written:
  CODEX_UPSTREAM=${url} COOKIE_SECRET=… npx tsx server.ts

Client (the page), so that the login popup may open this plain-http page:
  <CodexAuth allowedLoginOrigins={["${origin}"]} />
  createCodexClient({ allowedLoginOrigins: ["${origin}"] }) // without React
  or, with the README's Quick start as written:
  VITE_CODEX_UPSTREAM=${origin} npx vite

Sign in: the login popup opens ${origin}/codex/device; type the code your page shows and press Approve.
Stop with Ctrl+C.
`;
}
