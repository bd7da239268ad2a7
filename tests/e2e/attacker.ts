import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A static page on another loopback origin (`http://127.0.0.1:PORT`): the cross-site attacker's site. */
export interface AttackerSite {
  url: string;
  close(): Promise<void>;
}

// Static on purpose: the attack itself runs through page.evaluate, so nothing is templated here.
const PAGE = "<!doctype html><html lang=en><head><meta charset=utf-8><title>Totally harmless</title></head><body><h1>Win a prize</h1></body></html>";

export async function startAttackerSite(): Promise<AttackerSite> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
