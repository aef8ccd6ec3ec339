/**
 * Fastify adapter of `@scanner/health`: an encapsulated plugin serving the four endpoints.
 *
 * @module @scanner/health/fastify
 */
import { invalidOption } from '@scanner/core'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Health, HealthResponse } from '../health.js'

function send(reply: FastifyReply, response: HealthResponse): FastifyReply {
  return reply.code(response.status).headers(response.headers).send(response.body)
}

/** Options of {@link fastifyHealthPlugin}. */
export interface FastifyHealthPluginOptions {
  /** The health instance to serve. Required. */
  readonly health: Health
  /**
   * Fastify's own register prefix; when set, the routes are served under it instead of the
   * health instance's prefix.
   * @default undefined (the health instance's prefix, `/health`)
   */
  readonly prefix?: string
}

/**
 * A plain (encapsulated) Fastify plugin serving `/health/`, `/health/detailed/`,
 * `/health/ready/` and `/health/live/` (GET and HEAD, trailing slash optional). Honours
 * `register(plugin, { health, prefix })`.
 *
 * @example
 * ```ts
 * import { fastifyHealthPlugin } from '@scanner/health/fastify'
 *
 * await app.register(fastifyHealthPlugin, { health })                      // /health/...
 * await app.register(fastifyHealthPlugin, { health, prefix: '/status' })   // /status/...
 * ```
 */
export const fastifyHealthPlugin: FastifyPluginAsync<FastifyHealthPluginOptions> =
  async function fastifyHealthPlugin(fastify, options) {
    const { health } = options
    // Plugin options come from JavaScript callers too: checked, not trusted.
    const given = health as Partial<Record<keyof Health, unknown>> | null | undefined
    if (
      typeof given !== 'object' ||
      given === null ||
      typeof given.respond !== 'function' ||
      !Array.isArray(given.routes)
    ) {
      throw invalidOption('health', 'a Health instance from createHealth()', health)
    }
    const registeredPrefix = options.prefix !== undefined
    // With `ignoreTrailingSlash` (top level, or in `routerOptions` from Fastify 5.x on) the
    // router serves both spellings of one route and refuses the second as a duplicate.
    const config = fastify.initialConfig as {
      readonly ignoreTrailingSlash?: boolean
      readonly routerOptions?: { readonly ignoreTrailingSlash?: boolean }
    }
    const slashIgnored =
      config.ignoreTrailingSlash === true || config.routerOptions?.ignoreTrailingSlash === true
    for (const route of health.routes) {
      const base = registeredPrefix ? route.suffix : route.path === '/' ? '' : route.path
      const urls = base === '' ? ['/'] : slashIgnored ? [base] : [base, `${base}/`]
      for (const url of urls) {
        // HEAD registered with GET: the core answers it with GET's Content-Length (Fastify's
        // own HEAD route would measure the empty body).
        fastify.route({
          method: ['GET', 'HEAD'],
          url,
          handler: function healthEndpoint(request: FastifyRequest, reply: FastifyReply) {
            const result = health.respond({
              method: request.method,
              path: route.path,
              headers: request.headers,
              remoteAddress: request.socket.remoteAddress ?? request.ip,
            })
            // Answered synchronously when no check has to run: no promise on the hot path.
            if (result instanceof Promise) return result.then((response) => send(reply, response))
            send(reply, result)
            return undefined
          },
        })
      }
    }
    return Promise.resolve()
  }
