/**
 * The status page in a real browser (Debian's chromium, driven by playwright-core) with hostile
 * strings in every field: nothing they carry runs or becomes markup, live updates through the
 * event stream included. (The end-to-end test with the supervised simulator is in
 * examples/domain/src/status-page.test.ts: health cannot depend on the tunnel.)
 */
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStatusHistory, createStatusPage, type StatusPage } from '@scanner/health'

const CHROMIUM = '/usr/bin/chromium'
const EVIL = `"><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><svg onload="window.__pwned=3">`

describe('status page in a browser, hostile strings', () => {
  const history = createStatusHistory()
  let page: StatusPage
  let server: Server
  let url: string
  let browser: Browser

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} (apt-get install chromium)`).toBe(true)
    history.add({ kind: 'state', state: 'running', previous: EVIL })
    history.add({ kind: 'restart', reason: EVIL, strategy: EVIL, exitCode: 1 })
    history.add({ kind: 'error', errorId: EVIL, message: EVIL, source: EVIL })
    history.add({ kind: 'breaker', key: EVIL, state: 'open', previous: 'closed' })
    history.add({ kind: 'dns', status: 'failure', detail: EVIL })
    page = createStatusPage({
      history,
      title: EVIL,
      sampleIntervalMs: 0,
      snapshot: () => ({
        at: Date.now(),
        tunnel: { state: 'running', url: EVIL, protocol: EVIL },
        health: { status: 'degraded', components: { [EVIL]: { status: EVIL, error: EVIL } } },
        breakers: [{ key: EVIL, state: 'open', errorRate: 100 }],
      }),
    })
    server = createServer((req, res) => {
      const handler = page.routes[(req.url ?? '').split('?')[0] ?? '']
      if (handler === undefined) res.writeHead(404).end()
      else void handler(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no address')
    url = `http://127.0.0.1:${String(address.port)}/status`
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  }, 180_000)

  afterAll(async () => {
    await browser.close()
    await page.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve()
      })
    })
  })

  it('shows the strings as text, runs none of them, before and after a live update', async () => {
    const context = await browser.newContext()
    const tab = await context.newPage()
    const dialogs: string[] = []
    tab.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    const requests: string[] = []
    tab.on('request', (request) => requests.push(request.url()))
    try {
      await tab.goto(url)
      await tab.waitForSelector('#live.on', { timeout: 15_000 })
      history.add({ kind: 'error', errorId: 'err_live', message: EVIL })
      await expect
        .poll(() => tab.locator('#s-errors').innerText(), { timeout: 15_000 })
        .toContain('err_live')
      const pwned = await tab.evaluate(() => (globalThis as { __pwned?: number }).__pwned)
      expect(pwned).toBeUndefined()
      expect(dialogs).toEqual([])
      expect(await tab.locator('img').count()).toBe(0)
      expect(await tab.locator('script').count()).toBe(1)
      expect(await tab.locator('#s-errors').innerText()).toContain('<img src=x onerror=')
      // Nothing but the page and its own event stream was requested.
      expect(requests.filter((r) => !r.startsWith(url))).toEqual([])
    } finally {
      await context.close()
    }
  }, 180_000)
})
