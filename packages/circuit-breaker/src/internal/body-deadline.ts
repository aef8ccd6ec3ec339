// The body deadline: a request whose body is still to come when the breaker admits it gets
// `bodyTimeoutMs` to finish its upload, or a 408 problem+json and a closed connection. A slow
// upload is the client's fault, answered before Node's own `requestTimeout` (300 s, plain text).
// Only requests with a pending body pay for it: one unref'd timer, cleared when the body ends or
// the response closes.

/** Node's request, as far as the deadline needs it. */
interface DeadlineRequest {
  readonly readableEnded: boolean
  once(event: 'end', listener: () => void): unknown
}

/** Node's response, as far as the deadline needs it. */
export interface DeadlineResponse {
  readonly headersSent: boolean
  readonly writableEnded: boolean
  writeHead(status: number, headers: Readonly<Record<string, string>>): unknown
  end(body: string): unknown
  once(event: 'close', listener: () => void): unknown
}

/** The client error answered when a request body did not arrive within `bodyTimeoutMs`. */
export function bodyTimeoutError(ms: number): Error {
  return Object.assign(new Error(`The request body was not received within ${String(ms)} ms`), {
    status: 408,
    expose: true,
    code: 'ERR_BODY_TIMEOUT',
  })
}

/**
 * Calls `onTimeout` once `ms` passed, unless the request body ended or the response was sent or
 * closed first (the timer is then cleared).
 */
export function armBodyDeadline(
  ms: number,
  req: DeadlineRequest,
  res: DeadlineResponse,
  onTimeout: () => void,
): void {
  const timer = setTimeout(() => {
    if (req.readableEnded || res.headersSent || res.writableEnded) return
    onTimeout()
  }, ms)
  timer.unref()
  const clear = (): void => {
    clearTimeout(timer)
  }
  req.once('end', clear)
  res.once('close', clear)
}
