/**
 * The default look. Every selector hangs off `.codex-auth`, so nothing leaks into
 * the host page; themes override the `--codex-auth-*` custom properties.
 */
export const CSS =
  ".codex-auth{display:flex;flex-direction:column;align-items:start;gap:.75em;max-width:40em;color:var(--codex-auth-fg,inherit)}" +
  ".codex-auth button{font:inherit;padding:.5em 1em;cursor:pointer;border:0;border-radius:var(--codex-auth-radius,6px);" +
  "background:var(--codex-auth-accent,#0b6e56);color:var(--codex-auth-on-accent,#fff)}" +
  ".codex-auth :focus-visible{outline:3px solid var(--codex-auth-focus,#1d4ed8);outline-offset:2px}" +
  ".codex-auth-code{display:block;font:700 2em/1.3 ui-monospace,monospace;letter-spacing:.1em}" +
  ".codex-auth p{margin:0}.codex-auth form,.codex-auth output{align-self:stretch;white-space:pre-wrap}" +
  ".codex-auth textarea{display:block;width:100%;min-height:5em;margin:.25em 0 .5em;box-sizing:border-box;font:inherit}";
