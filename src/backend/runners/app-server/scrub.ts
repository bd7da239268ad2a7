/**
 * The agent could print a file it read (the session's auth.json among them):
 * its text leaves with the session's own tokens replaced. Text arrives in
 * deltas, so a token split across two deltas must still be caught: the
 * scrubber holds back the shortest tail that could begin a token and lets it
 * go once the next delta shows it does not (or at the end of the message).
 */
const REDACTED = "[redacted]";

export class StreamScrubber {
  #secrets: readonly string[];
  #held = "";

  /** `secrets` longest first (as secretsOf gives them). */
  constructor(secrets: readonly string[]) {
    this.#secrets = secrets;
  }

  /** Tokens can change in the middle of a turn (the app-server refreshes them itself). */
  update(secrets: readonly string[]): void {
    this.#secrets = secrets;
  }

  /** The text that is safe to send now. */
  push(delta: string): string {
    // The cut is found on the raw text: a whole short secret (one part of a token) may be the start of a longer one.
    const text = this.#held + delta;
    const cut = this.#heldFrom(text);
    this.#held = text.slice(cut);
    return this.#replace(text.slice(0, cut));
  }

  /** What is still held back, at the end of a message. */
  flush(): string {
    const rest = this.#held;
    this.#held = "";
    return this.#replace(rest);
  }

  #replace(text: string): string {
    let out = text;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** Where the longest tail of `text` that is the start of some secret begins (text.length when none). */
  #heldFrom(text: string): number {
    let from = text.length;
    for (const secret of this.#secrets) {
      for (let i = Math.max(0, text.length - secret.length + 1); i < from; i++) {
        if (text.charCodeAt(i) === secret.charCodeAt(0) && secret.startsWith(text.slice(i))) {
          from = i;
          break;
        }
      }
    }
    return from;
  }
}

/** Whole-text form, for an error message or a final text. */
export function scrubText(text: string, secrets: readonly string[]): string {
  const scrubber = new StreamScrubber(secrets);
  return scrubber.push(text) + scrubber.flush();
}
