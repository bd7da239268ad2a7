import type { ServerResponse } from "node:http";
import type { RouteHandler } from "./context.js";
import { mediaType } from "./http.js";

/** Fixed messages: the page never echoes anything the request or the state carries. */
const MESSAGES = {
  form: "",
  approved: "Approved. You can close this window and return to the app.",
  denied: "Denied. The app will not be signed in.",
  invalid: "That code is not valid or has expired. Check it and try again.",
} as const;
type PageState = keyof typeof MESSAGES;

const STYLE =
  "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#111}" +
  "label{display:block;font-weight:600;margin-bottom:.25rem}" +
  "input{font-size:1.25rem;padding:.4rem;width:100%;box-sizing:border-box;text-transform:uppercase}" +
  "button{font-size:1rem;padding:.5rem 1rem;margin:.75rem .5rem 0 0}" +
  "button:focus,input:focus{outline:3px solid #1a5fb4;outline-offset:2px}" +
  "[role=status]{padding:.75rem;background:#eef6ee;border:1px solid #2e7d32}" +
  "[role=alert]{padding:.75rem;background:#fdecea;border:1px solid #b3261e}";

/** The whole page for one state; only constants are interpolated. */
function renderPage(state: PageState): string {
  const done = state === "approved" || state === "denied";
  const notice =
    state === "form"
      ? ""
      : `<p role="${state === "invalid" ? "alert" : "status"}">${MESSAGES[state]}</p>`;
  const form = done
    ? ""
    : `<form method="post" action="/codex/device">
<label for="user-code">Code</label>
<input id="user-code" name="user_code" autocomplete="one-time-code" autocapitalize="characters"
 spellcheck="false" required autofocus aria-describedby="code-help">
<p id="code-help">Enter the one-time code shown by the app, for example ABCD-EFGH2.</p>
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>`;
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Device sign-in (simulator)</title><style>${STYLE}</style></head>
<body><main>
<h1>Sign in to Codex on a device</h1>
<p>This is the local upstream simulator standing in for auth.openai.com.</p>
${notice}
${form}
</main></body>
</html>`;
}

function sendPage(res: ServerResponse, status: number, state: PageState): void {
  const html = renderPage(state);
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(html),
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
  res.end(html);
}

/** `GET /codex/device`: the form a person types the code into. */
export const devicePage: RouteHandler = (_ctx, { res }) => sendPage(res, 200, "form");

/** `POST /codex/device`: approve or deny the typed code (as `pageAccount`). */
export const devicePageSubmit: RouteHandler = (ctx, { req, res, body }) => {
  if (mediaType(req) !== "application/x-www-form-urlencoded") return sendPage(res, 415, "invalid");
  const form = new URLSearchParams(body);
  const code = form.get("user_code") ?? "";
  const deny = form.get("action") === "deny";
  const ok = deny ? ctx.flow.deny(code) : ctx.flow.approve(code, ctx.pageAccount);
  if (!ok) return sendPage(res, 400, "invalid");
  sendPage(res, 200, deny ? "denied" : "approved");
};
