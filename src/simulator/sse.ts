import type { ServerResponse } from "node:http";

/** Lines no SSE parser should choke on, though no event is in them. */
const GARBAGE = [
  ": simulator keep-alive comment\n\n",
  "this line is not server-sent events\n\n",
  "data: {not json at all\n\n",
  'event: response.simulator_unknown\ndata: {"type":"response.simulator_unknown"}\n\n',
];

/** Writes Server-Sent Events (`event:` + `data:` lines), optionally with garbage in between. */
export class SseWriter {
  private garbageIndex = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly malformed: boolean,
  ) {}

  open(): void {
    this.res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-request-id": `req_sim_${Date.now().toString(36)}`,
    });
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  send(event: Record<string, unknown> & { type: string }): void {
    if (this.closed) return;
    if (this.malformed) this.res.write(GARBAGE[this.garbageIndex++ % GARBAGE.length]);
    this.res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  end(): void {
    if (!this.closed) this.res.end();
  }
}
