/**
 * The status page in a real browser (Debian's chromium, driven by playwright-core), fed by a
 * real tunnel supervisor running the cloudflared simulator: faults injected into the simulator
 * show up on the open page through Server-Sent Events, and the page reads the same with
 * JavaScript off. Screenshots go to examples/domain/test-results/ (gitignored).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBreakerRegistry } from '@scanner/circuit-breaker'
import {
  createStatusHistory,
  createStatusPage,
  recordBreakers,
  recordTunnel,
  statusSnapshot,
  type StatusPage,
} from '@scanner/health'
import { createTunnel, type Tunnel } from '@scanner/tunnel'
import {
  fakeCloudflaredEnv,
  fakeCloudflaredPath,
  fakeCloudflaredToken,
  sendFakeCloudflaredCommand,
} from '@scanner/tunnel/testing'

const CHROMIUM = '/usr/bin/chromium'
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results')

/**
 * Chromium with nothing that talks to the network on its own. playwright's `launch()` gives
 * every browser a fresh temporary profile (its own `--user-data-dir`, removed on close).
 */
async function launch(): Promise<Browser> {
  return chromium.launch({
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
}

describe('status page in a browser, fed by the supervised simulator', () => {
  let dir: string
  let control: string
  let tunnel: Tunnel
  let status: StatusPage
  let server: Server
  let url: string
  let browser: Browser | undefined

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} (apt-get install chromium)`).toBe(true)
    dir = mkdtempSync(join(tmpdir(), 'status-page-'))
    control = join(dir, 'control')
    writeFileSync(control, '')
    tunnel = createTunnel({
      bin: fakeCloudflaredPath,
      token: fakeCloudflaredToken(),
      env: fakeCloudflaredEnv('normal', { control, connIntervalMs: 20 }),
      backoff: { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: 'none' },
      gracePeriodMs: 1000,
      pidFile: false,
    })
    const breakers = createBreakerRegistry()
    const history = createStatusHistory()
    recordTunnel(history, tunnel)
    recordBreakers(history, breakers)
    breakers.get('GET /api/feed/:symbol')
    breakers.get('GET /api/quotes/:symbol')
    status = createStatusPage({
      history,
      title: 'scanner-api · operator',
      snapshot: statusSnapshot({ tunnel, breakers }),
      sampleIntervalMs: 500,
    })
    server = createServer((req, res) => {
      const handler = status.routes[(req.url ?? '').split('?')[0] ?? '']
      if (handler === undefined) res.writeHead(404).end()
      else void handler(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no address')
    url = `http://127.0.0.1:${String(address.port)}/status`
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 20_000 })
    browser = await launch()
    mkdirSync(RESULTS, { recursive: true })
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await status?.close()
    server?.closeAllConnections()
    await new Promise<void>((resolve) => {
      if (server === undefined) resolve()
      else
        server.close(() => {
          resolve()
        })
    })
    await tunnel?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const big = (page: Page): Promise<string> => page.locator('#s-state .big').innerText()
  /** The text of `selector` ('' while it does not exist), polled until `expected` is in it. */
  const untilText = async (page: Page, selector: string, expected: string): Promise<void> => {
    await expect
      .poll(
        () =>
          page
            .locator(selector)
            .innerText({ timeout: 1000 })
            .catch(() => ''),
        {
          // A page update takes well under a second; minutes of slack for a loaded machine.
          timeout: 60_000,
          interval: 100,
        },
      )
      .toContain(expected)
  }

  it('shows the tunnel up, then a crash and a QUIC burst live, without a reload', async () => {
    if (browser === undefined) throw new Error('no browser')
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } })
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    try {
      await page.goto(`${url}?window=15m`)
      expect(await big(page)).toBe('Tunnel up')
      await page.waitForSelector('#live.on', { timeout: 15_000 })
      // A marker that a reload would wipe: the updates below must come through SSE.
      // (Functions, not strings: the page's CSP forbids eval, and this checks it holds.)
      await page.evaluate(() => {
        ;(globalThis as unknown as { marker: number }).marker = 1
      })

      await sendFakeCloudflaredCommand(control, 'crash 1')
      await untilText(page, '#s-timeline table.restarts', 'exit (exit 1)')
      await untilText(page, '#s-state .big', 'Tunnel up')

      await sendFakeCloudflaredCommand(control, 'quic 0')
      await sendFakeCloudflaredCommand(control, 'quic 1')
      await sendFakeCloudflaredCommand(control, 'quic 2')
      await untilText(page, '#s-timeline table.restarts', 'quic-timeouts')
      await untilText(page, '#s-state .big', 'Tunnel up')
      await expect
        .poll(() => page.locator('#s-timeline svg circle.quic').count(), { timeout: 20_000 })
        .toBeGreaterThan(0)
      expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(
        1,
      )
      // Each restart carries its strategy: the crash (an exit) restarts break-before-make, the
      // QUIC restart of this named tunnel make-before-break.
      const restarts = await page.locator('#s-timeline table.restarts').innerText()
      expect(restarts).toMatch(/quic-timeouts\s+make-before-break/)
      expect(restarts).toMatch(/exit \(exit 1\)\s+break-before-make/)
      const summary = await page.locator('#s-timeline .summary').innerText()
      expect(summary).toMatch(/^2 restarts \(/)
      expect(await page.locator('#s-footer').innerText()).toMatch(/^History: \d+ of 1000 events/)
      expect(summary).toContain('3 QUIC incidents')
      expect(await page.title()).toMatch(/^Tunnel up · scanner-api/)
      expect(await page.locator('#s-breakers').innerText()).toContain('GET /api/feed/:symbol')
      await page.screenshot({ path: join(RESULTS, 'status-page-light.png'), fullPage: true })
      await page.emulateMedia({ colorScheme: 'dark' })
      await page.screenshot({ path: join(RESULTS, 'status-page-dark.png'), fullPage: true })
      // The window switch reconnects the stream without a reload.
      await page.click('a[data-window="24h"]')
      await untilText(page, '#h-timeline', 'Last 24 h')
      expect(new URL(page.url()).search).toBe('?window=24h')
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  }, 240_000)

  it('reads as a complete snapshot with JavaScript off', async () => {
    if (browser === undefined) throw new Error('no browser')
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1200, height: 900 },
    })
    const page = await context.newPage()
    try {
      await page.goto(`${url}?window=1h`)
      expect(await big(page)).toBe('Tunnel up')
      expect(await page.locator('#live').innerText()).toMatch(/^Snapshot at \d\d:\d\d:\d\d UTC/)
      const restarts = await page.locator('#s-timeline table.restarts').innerText()
      expect(restarts).toContain('exit (exit 1)')
      expect(restarts).toContain('quic-timeouts')
      expect(await page.locator('#s-timeline svg path.mk').count()).toBeGreaterThan(0)
      // The window links work as plain links.
      await page.click('a[data-window="6h"]')
      expect(await page.locator('#h-timeline').innerText()).toBe('Last 6 h')
      await page.screenshot({ path: join(RESULTS, 'status-page-no-js.png'), fullPage: true })
    } finally {
      await context.close()
    }
  }, 180_000)
})
