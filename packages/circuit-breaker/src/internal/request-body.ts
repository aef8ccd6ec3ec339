// Tells a request body's failure (malformed JSON, a read cut short by the client) from the
// handler's own errors, for runtimes where the handler reads the body itself (Hono's
// `await c.req.json()`). Only on the error path: nothing here runs for a request that succeeded.

/** What a body read left behind: Hono keeps each read's promise in `c.req.bodyCache`. */
export type BodyCache = Readonly<Record<string, Promise<unknown> | undefined>>

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown }

const settle = (promise: Promise<unknown>): Promise<Settled> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )

function malformedJson(text: unknown): boolean {
  if (typeof text !== 'string') return false
  try {
    JSON.parse(text)
    return false
  } catch {
    return true
  }
}

/**
 * Whether `error` is the request body's fault: the rejection of a body read itself (a client
 * that went away mid-body, an invalid body), or a `SyntaxError` while the body that was read is
 * not valid JSON. A `SyntaxError` from anything else (an upstream's JSON) stays a server error.
 */
export async function isBodyError(cache: BodyCache | undefined, error: unknown): Promise<boolean> {
  if (cache === undefined) return false
  for (const key in cache) {
    const read = cache[key]
    if (read === undefined) continue
    const outcome = await settle(read)
    if (!outcome.ok) {
      if (outcome.error === error) return true
    } else if (error instanceof SyntaxError && key === 'text' && malformedJson(outcome.value)) {
      return true
    }
  }
  return false
}

/** The client error answered for a body that could not be read or parsed. */
export function bodyError(cause: unknown): Error {
  const parse = cause instanceof SyntaxError
  return Object.assign(
    new Error(parse ? 'Malformed JSON in request body' : 'The request body could not be read', {
      cause,
    }),
    { status: 400, expose: true },
  )
}
