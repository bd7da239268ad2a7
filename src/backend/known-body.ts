/**
 * A private note, kept beside a Response we build from a complete string, of
 * what its body holds: our own Node adapters write that string directly
 * instead of reading the body stream back (on Node 20 undici's stream costs
 * more than the rest of a small JSON answer). The Response itself is an
 * ordinary, fully readable Web Response: any other caller just reads its body.
 */
const knownText = new WeakMap<Response, string>();

/**
 * `new Response(text, init)`, remembering `text` for {@link textOf}.
 *
 * @example
 * const response = textResponse('{"ok":true}', { status: 200, headers });
 * await response.text(); // '{"ok":true}' for any caller
 */
export function textResponse(text: string, init: ResponseInit): Response {
  const response = new Response(text, init);
  knownText.set(response, text);
  return response;
}

/**
 * The body of a Response made by {@link textResponse} whose body nobody has
 * read yet (so it still holds exactly that text); undefined otherwise, and
 * then the caller reads `response.body` as usual.
 *
 * @example
 * const text = textOf(response);
 * if (text !== undefined) res.end(text);
 */
export function textOf(response: Response): string | undefined {
  const text = knownText.get(response);
  if (text === undefined || response.bodyUsed) return undefined;
  return text;
}
