import { request } from 'undici'

/** Answer of cloudflared's `GET /ready`. */
export interface ReadyResult {
  /** HTTP 200 with at least one ready connection. */
  readonly ready: boolean
  /** HTTP status, undefined when the server did not answer. */
  readonly status: number | undefined
  /** `readyConnections` from the body (0 on 503 or when unreadable). */
  readonly readyConnections: number
  /** `connectorId` from the body, when present. */
  readonly connectorId: string | undefined
  /** Why the probe failed (connection refused, timeout), when it did. */
  readonly error: string | undefined
}

/** Options of {@link probeReady}. */
export interface ProbeReadyOptions {
  /**
   * Time limit for headers and body, in milliseconds.
   * @default 1000
   */
  readonly timeoutMs?: number
  /** Aborts the request. */
  readonly signal?: AbortSignal
}

const MAX_BODY = 4096

/**
 * Calls `GET http://<address>/ready` on cloudflared's metrics server and reads
 * `{"status":200,"readyConnections":N,"connectorId":"…"}`. Never throws.
 *
 * @example
 * ```ts
 * const result = await probeReady('127.0.0.1:20241', { timeoutMs: 500 })
 * if (result.ready) console.log(result.readyConnections)
 * ```
 */
export async function probeReady(
  address: string,
  options: ProbeReadyOptions = {},
): Promise<ReadyResult> {
  const timeoutMs = options.timeoutMs ?? 1000
  const signals = [AbortSignal.timeout(timeoutMs)]
  if (options.signal) signals.push(options.signal)
  try {
    const response = await request(`http://${address}/ready`, {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.any(signals),
    })
    let text = ''
    for await (const chunk of response.body) {
      text += (chunk as Buffer).toString('utf8')
      if (text.length > MAX_BODY) break
    }
    if (text.length > MAX_BODY) response.body.destroy()
    let readyConnections = 0
    let connectorId: string | undefined
    try {
      const body = JSON.parse(text) as { readyConnections?: unknown; connectorId?: unknown }
      if (typeof body.readyConnections === 'number' && Number.isFinite(body.readyConnections)) {
        readyConnections = body.readyConnections
      }
      if (typeof body.connectorId === 'string') connectorId = body.connectorId
    } catch {
      // Not JSON: only the status counts.
    }
    const ready = response.statusCode === 200 && readyConnections > 0
    return {
      ready,
      status: response.statusCode,
      readyConnections: response.statusCode === 200 ? readyConnections : 0,
      connectorId,
      error: undefined,
    }
  } catch (error) {
    return {
      ready: false,
      status: undefined,
      readyConnections: 0,
      connectorId: undefined,
      error: (error as NodeJS.ErrnoException).code ?? (error as Error).message,
    }
  }
}

/** Outcome of {@link probeUrl}. */
export interface UrlProbeResult {
  /** The URL answered with a status below 500. */
  readonly ok: boolean
  readonly status: number | undefined
  readonly latencyMs: number
  readonly error: string | undefined
}

/** GETs a URL with a time limit; ok when it answers with a status below 500. Never throws. */
export async function probeUrl(
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<UrlProbeResult> {
  const started = performance.now()
  const signals = [AbortSignal.timeout(timeoutMs)]
  if (signal) signals.push(signal)
  try {
    const response = await request(url, {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.any(signals),
    })
    await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined)
    const ok = response.statusCode < 500
    return {
      ok,
      status: response.statusCode,
      latencyMs: Math.round(performance.now() - started),
      error: ok ? undefined : `HTTP ${response.statusCode}`,
    }
  } catch (error) {
    return {
      ok: false,
      status: undefined,
      latencyMs: Math.round(performance.now() - started),
      error: (error as NodeJS.ErrnoException).code ?? (error as Error).message,
    }
  }
}
