// temporary experiment
import type { AddressInfo } from 'node:net'
const variant = process.argv[3]
const { default: Fastify } = await import('fastify')
const app = Fastify({ logger: false })
const body400 =
  '{"type":"https://scanner.dev/problems/circuit-open","title":"Service Unavailable","status":503,"detail":"This endpoint is temporarily unavailable. Retry in 3599 s.","instance":"/api/quotes/ACME","errorId":"err_01KB5Y2Z3N1E2JXTR3Y6M4ZWCZ","requestId":"4b0f3d3e-63b5-4dc2-a2f1-c0b7b3f2f0aa","retryAfter":3599,"code":"ERR_BREAKER_OPEN"}'
if (variant === 'hook503') {
  app.addHook('onRequest', (request, reply, next) => {
    void reply
      .code(503)
      .headers({
        'content-type': 'application/problem+json',
        'cache-control': 'no-store',
        'retry-after': '3599',
        'x-error-id': 'err_01KB5Y2Z3N1E2JXTR3Y6M4ZWCZ',
        'x-request-id': '4b0f3d3e-63b5-4dc2-a2f1-c0b7b3f2f0aa',
      })
      .send(body400)
  })
} else if (variant === 'hook200small') {
  app.addHook('onRequest', (request, reply, next) => {
    void reply
      .code(200)
      .header('content-type', 'application/json; charset=utf-8')
      .send('{"symbol":"ACME","price":101.25}')
  })
} else if (variant === 'hook503small') {
  app.addHook('onRequest', (request, reply, next) => {
    void reply
      .code(503)
      .header('content-type', 'application/json; charset=utf-8')
      .send('{"symbol":"ACME","price":101.25}')
  })
} else if (variant === 'hook200big') {
  app.addHook('onRequest', (request, reply, next) => {
    void reply.code(200).header('content-type', 'application/json; charset=utf-8').send(body400)
  })
}
app.get<{ Params: { symbol: string } }>('/api/quotes/:symbol', (request) => ({
  symbol: request.params.symbol,
  price: 101.25,
}))
await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`${(app.server.address() as AddressInfo).port}\n`)
