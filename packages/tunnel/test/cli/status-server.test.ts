import { connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { get } from 'node:http'
import type { Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { closeServer, listenStatus, statusServerLimits } from '../../src/cli/status-server.js'
import { waitFor } from './helpers.js'

let server: Server | undefined
const sockets: Socket[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await closeServer(server)
  server = undefined
})

/** Opens a raw connection that sends half a request and never finishes it. */
function halfRequest(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // `closed` (of every stream) turns true once the server has closed it.
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => undefined)
    socket.once('connect', () => {
      socket.write('GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
      resolve(socket)
    })
    socket.once('error', reject)
    sockets.push(socket)
  })
}

describe('the status listener under a connection flood', () => {
  it('holds at most maxConnections (more are closed at once), then serves again', async () => {
    const limits = { ...statusServerLimits, maxConnections: 8 }
    server = await listenStatus(
      '127.0.0.1:0',
      { status: () => ({ ok: true }), metrics: undefined },
      limits,
    )
    const port = (server?.address() as AddressInfo).port
    const flood = await Promise.all(Array.from({ length: 40 }, () => halfRequest(port)))
    // Past the limit, connections are closed at once: the flood cannot use up descriptors.
    await waitFor('the connections past the limit to be closed', () =>
      flood.filter((s) => !s.closed).length <= limits.maxConnections ? true : undefined,
    )
    // The flood leaves: the endpoint answers again.
    for (const socket of flood) socket.destroy()
    const answer = await new Promise<{ status: number | undefined; body: string }>(
      (resolve, reject) => {
        get(`http://127.0.0.1:${String(port)}/status`, (res) => {
          let body = ''
          res.setEncoding('utf8').on('data', (d: string) => (body += d))
          res.on('end', () => {
            resolve({ status: res.statusCode, body })
          })
        }).on('error', reject)
      },
    )
    expect(answer).toEqual({ status: 200, body: '{"ok":true}' })
  })

  it('uses bounded limits by default', () => {
    expect(statusServerLimits.maxConnections).toBeLessThanOrEqual(64)
    expect(statusServerLimits.headersTimeoutMs).toBeLessThanOrEqual(10_000)
    expect(statusServerLimits.requestTimeoutMs).toBeLessThanOrEqual(30_000)
  })
})

describe('the status listener against DNS rebinding', () => {
  /** GET `path` with a given Host header; resolves with the status and body. */
  function getWithHost(
    port: number,
    path: string,
    host: string,
  ): Promise<{ status: number | undefined; body: string }> {
    return new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => (body += d))
        res.on('end', () => {
          resolve({ status: res.statusCode, body })
        })
      }).on('error', reject)
    })
  }

  it('answers a loopback Host and refuses any other name with 403, on every path', async () => {
    let routeCalls = 0
    server = await listenStatus('127.0.0.1:0', {
      status: () => ({ state: 'running', secret: 'details' }),
      metrics: undefined,
      routes: {
        '/status/page': (_req, res) => {
          routeCalls++
          res.end('page')
        },
      },
    })
    const port = (server?.address() as AddressInfo).port
    for (const host of [`127.0.0.1:${String(port)}`, 'localhost', `[::1]:${String(port)}`]) {
      expect((await getWithHost(port, '/status', host)).status, host).toBe(200)
    }
    for (const host of [
      `attacker.example:${String(port)}`,
      'localhost.attacker.example',
      '127.0.0.1.nip.io',
    ]) {
      for (const path of ['/status', '/', '/metrics', '/status/page', '/nope']) {
        const answer = await getWithHost(port, path, host)
        expect(answer.status, `${host} ${path}`).toBe(403)
        expect(answer.body).toContain('is not a loopback address')
        expect(answer.body).not.toContain('details')
      }
    }
    expect(routeCalls).toBe(0)
  })
})
