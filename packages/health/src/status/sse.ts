/*
 * Server-Sent Events for the status page: a bounded set of clients, heartbeats, cleanup on
 * disconnect, and no unbounded buffering: a client whose socket buffer holds more than
 * `maxBufferedBytes` (it reads slower than updates come) is disconnected; its browser
 * reconnects by itself and gets a fresh full update.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** One connected client and what it asked for. */
export interface SseClient<T> {
  readonly res: ServerResponse
  readonly data: T
}

/** Options of {@link SseHub}. */
export interface SseHubOptions {
  readonly maxClients: number
  readonly heartbeatMs: number
  readonly maxBufferedBytes: number
  /** Reconnection delay suggested to browsers (`retry:`), in milliseconds. */
  readonly retryMs: number
}

/** Formats one SSE message; `data` may hold newlines (each line gets its own `data:`). */
export function sseMessage(event: string, data: string, id?: number): string {
  let out = id === undefined ? '' : `id: ${String(id)}\n`
  out += `event: ${event}\n`
  for (const line of data.split('\n')) out += `data: ${line}\n`
  return `${out}\n`
}

/** The set of connected clients of one status page. */
export class SseHub<T> {
  readonly #options: SseHubOptions
  readonly #clients = new Set<SseClient<T>>()
  readonly #heartbeat: NodeJS.Timeout
  #closed = false

  constructor(options: SseHubOptions) {
    this.#options = options
    this.#heartbeat = setInterval(() => {
      for (const client of this.#clients) this.send(client, 'event: ping\ndata: \n\n')
    }, options.heartbeatMs)
    this.#heartbeat.unref()
  }

  /** Number of connected clients. */
  get size(): number {
    return this.#clients.size
  }

  /** The connected clients (a copy). */
  clients(): SseClient<T>[] {
    return [...this.#clients]
  }

  /**
   * Accepts a client: answers 503 (`Retry-After`) when `maxClients` are connected or the hub
   * is closed; otherwise writes the SSE headers and keeps the response open. Returns the client,
   * or undefined when refused.
   */
  accept(req: IncomingMessage, res: ServerResponse, data: T): SseClient<T> | undefined {
    if (this.#closed || this.#clients.size >= this.#options.maxClients) {
      res.writeHead(503, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'retry-after': '10',
      })
      res.end(this.#closed ? 'closing\n' : 'too many status page viewers, try again later\n')
      return undefined
    }
    const client: SseClient<T> = { res, data }
    this.#clients.add(client)
    const drop = (): void => {
      this.#clients.delete(client)
    }
    req.on('close', drop)
    res.on('close', drop)
    res.on('error', drop)
    req.socket.setNoDelay(true)
    req.socket.setKeepAlive(true)
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Tells reverse proxies (nginx) not to buffer the stream.
      'x-accel-buffering': 'no',
    })
    res.write(`retry: ${String(this.#options.retryMs)}\n\n`)
    return client
  }

  /**
   * Writes `chunk` to one client, unless its socket already buffers more than
   * `maxBufferedBytes`: then the client is disconnected instead.
   */
  send(client: SseClient<T>, chunk: string): void {
    const { res } = client
    if (!this.#clients.has(client) || res.destroyed || res.writableEnded) {
      this.#clients.delete(client)
      return
    }
    if (res.writableLength > this.#options.maxBufferedBytes) {
      this.#clients.delete(client)
      res.destroy()
      return
    }
    res.write(chunk)
  }

  /** Ends every client's stream and stops the heartbeat. Idempotent. */
  close(): void {
    this.#closed = true
    clearInterval(this.#heartbeat)
    for (const client of this.#clients) client.res.end()
    this.#clients.clear()
  }
}
