import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One response exactly as it went out to the browser. */
export interface ProxiedResponse {
  url: string;
  status: number;
  headers: string;
  body: string;
}

/**
 * A pass-through HTTP proxy in front of the demo that keeps a copy of every
 * response it forwards. It sees the bodies the page never reads (Chromium
 * cannot report those), so the confinement test misses nothing the browser got.
 * The browser talks to `http://localhost:<proxy port>`; the Host header is
 * forwarded untouched, so the demo's same-origin checks see the proxy's origin.
 */
export async function startRecordingProxy(targetPort: number) {
  const responses: ProxiedResponse[] = [];
  const server: Server = createServer((req, res) => {
    const upstream = request(
      { host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          res.write(chunk);
        });
        answer.on("end", () => res.end());
        // On close, not end: a stream the browser aborted is recorded as far as it went.
        answer.on("close", () => {
          responses.push({
            url: req.url ?? "",
            status: answer.statusCode ?? 0,
            headers: answer.rawHeaders.join("\n"),
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
        answer.on("error", () => res.destroy());
      },
    );
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/`,
    responses,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
