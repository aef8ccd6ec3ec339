import { request } from 'undici'

/** The outcome of one HTTP GET made by `status` and `check`. */
export interface HttpResult {
  readonly ok: boolean
  readonly status: number | undefined
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: string
  readonly error: string | undefined
  readonly latencyMs: number
}

const MAX_BODY = 1024 * 1024

/** GETs `url` with a timeout; never throws. `ok` means a 2xx or 3xx answer. */
export async function httpGet(url: string, timeoutMs = 5000): Promise<HttpResult> {
  const started = performance.now()
  try {
    const res = await request(url, {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'user-agent': 'scanner-tunnel' },
    })
    let body = ''
    for await (const chunk of res.body) {
      if (body.length < MAX_BODY) body += (chunk as Buffer).toString('utf8')
    }
    return {
      ok: res.statusCode >= 200 && res.statusCode < 400,
      status: res.statusCode,
      headers: res.headers,
      body,
      error: undefined,
      latencyMs: performance.now() - started,
    }
  } catch (error) {
    const err = error as NodeJS.ErrnoException
    const code = err.code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code
    return {
      ok: false,
      status: undefined,
      headers: {},
      body: '',
      error:
        code === undefined
          ? err.message
          : `${code}${err.message.includes(code) ? '' : `: ${err.message}`}`,
      latencyMs: performance.now() - started,
    }
  }
}
