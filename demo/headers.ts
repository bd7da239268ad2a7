import type { NextFunction, Request, Response } from "express";

/**
 * Hardening headers for the demo page. The CSP is defence in depth only: the
 * e2e tests check that hostile text is rendered as text, not merely blocked.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // The default UI may ship its styles in a <style> element.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

export function pageSecurityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
  });
  next();
}
