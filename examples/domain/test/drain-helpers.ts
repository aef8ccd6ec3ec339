/**
 * Helpers of the drain tests: the environment of an example started with its default settings
 * (loopback only), and one HTTP GET on a chosen agent.
 */
import { request, type Agent } from 'node:http'
import { fileURLToPath } from 'node:url'

/** The three example servers, by folder name. */
export const EXAMPLES = ['express-api', 'fastify-api', 'hono-api'] as const

/** Folder of an example (`examples/<name>`). */
export function exampleDir(name: (typeof EXAMPLES)[number]): string {
  return fileURLToPath(new URL(`../../${name}`, import.meta.url))
}

/**
 * The environment of an example with default settings, except what keeps it on loopback:
 * port 0 on 127.0.0.1, no DNS check, the simulator (or no tunnel), JSON logs. Settings of the
 * calling shell that would change the defaults (`DRAIN_DELAY_MS`, `NODE_ENV`, ...) are dropped.
 */
export function defaultEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dropped = new Set([
    'TUNNEL_TOKEN',
    'CLOUDFLARED_BIN',
    'DRAIN_DELAY_MS',
    'SHUTDOWN_TIMEOUT_MS',
    'NODE_ENV',
    'DEMO',
    'LOG_LEVEL',
    'LOG_FORMAT',
    'FEED_MODE',
    'DATABASE_PATH',
    'HEALTH_TOKEN',
    'ADMIN_HOST',
    'ADMIN_PORT',
  ])
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !dropped.has(key) && !key.startsWith('FAKE_') && !key.startsWith('DNS_'),
    ),
  )
  return {
    ...env,
    HOST: '127.0.0.1',
    PORT: '0',
    ADMIN_PORT: '0',
    DNS_CHECK: 'off',
    TUNNEL: 'simulator',
    ...extra,
  }
}

/** Outcome of {@link get}. */
export interface Reply {
  readonly status: number
  /** The `Connection` response header. */
  readonly connection: string | undefined
}

/** One GET; `agent: false` opens a fresh connection. Rejects on a network error. */
export function get(url: string, agent: Agent | false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume()
      res.once('end', () => {
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection })
      })
      res.once('error', reject)
    })
    req.once('error', reject)
    req.end()
  })
}

/** Polls `fn` until it stops throwing (every 50 ms, up to `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    try {
      return await fn()
    } catch (error) {
      if (performance.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
