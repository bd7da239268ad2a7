import type { NextFunction, Request, Response } from "express";

/** Host names a loopback-only demo answers to. */
export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"] as const;

/**
 * Refuses requests whose Host is not one of `hosts`: a DNS-rebinding page
 * (evil.example resolving to 127.0.0.1) would otherwise be same-origin with the demo.
 */
export function allowHosts(hosts: readonly string[]) {
  const allowed = new Set(hosts.map((h) => h.toLowerCase()));
  return (req: Request, res: Response, next: NextFunction): void => {
    const host = hostname(req.headers.host ?? "");
    if (host !== null && allowed.has(host)) return next();
    res.status(403).type("text/plain").send("This host name is not allowed; open the demo at http://localhost.");
  };
}

function hostname(header: string): string | null {
  try {
    return new URL(`http://${header}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}
