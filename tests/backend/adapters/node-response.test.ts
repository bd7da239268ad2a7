import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { toNodeListener } from "../../../src/backend/adapters/node.js";
import { until } from "../../support/until.js";

/** An unhandled rejection is reported on a later turn; its absence can only be watched for a while. */
const rejectionWindowMs = 50;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
});

it("a body that errors after the client left (while waiting for drain) is not an unhandled rejection", async () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    let pulls = 0;
    let errored = false;
    // A handler of one's own (the Web path) relaying a large body that errors when the request aborts,
    // as a fetched body does when the client's disconnect aborts the upstream fetch.
    const handler = async (request: Request) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            request.signal.addEventListener("abort", () => {
              errored = true;
              controller.error(new Error("upstream aborted"));
            });
          },
          pull(controller) {
            pulls += 1;
            controller.enqueue(new Uint8Array(64 * 1024));
          },
        }),
      );
    const server = createServer(toNodeListener(handler));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;

    const socket = connect(port, "127.0.0.1");
    socket.write("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    socket.pause(); // never read: the server's socket buffer fills and it waits for drain
    let lastPulls = 0;
    let lastChangeAt = Date.now();
    const waitingForDrain = () => {
      if (pulls !== lastPulls) [lastPulls, lastChangeAt] = [pulls, Date.now()];
      return pulls > 1 && Date.now() - lastChangeAt >= 50; // no pull for 50 ms: the buffers are full
    };
    await until(waitingForDrain, 3000, "the body waiting for drain");
    socket.destroy();
    await until(() => errored, 3000, "the body's error after the client left");
    await new Promise((resolve) => setTimeout(resolve, rejectionWindowMs));
    expect(pulls).toBeGreaterThan(1); // it did stream before the client left
    expect(errored).toBe(true);
    expect(rejections).toEqual([]);
  } finally {
    process.off("unhandledRejection", onRejection);
  }
});
