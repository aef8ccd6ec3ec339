/*
 * `POST /reload` on the watchdog's status listener: the make-before-break handover to a new
 * cloudflared binary or new arguments (`tunnel.replace()`), asked for by `scanner-tunnel reload`.
 *
 * The listener is loopback-only, but a loopback port is reachable by every local user and by
 * every web page the machine's browser opens. So a reload must:
 * - be a POST with the header `X-Scanner-Tunnel-Reload: 1` (a custom header: a browser must ask
 *   with a CORS preflight first, which this listener never grants);
 * - carry no `Origin` and no `Sec-Fetch-Site` other than `none` (browsers send them; the CLI does not);
 * - name a loopback host in `Host` (a DNS-rebinding page sends its own name);
 * - when it names a binary, name one that only root or the watchdog's user can have written
 *   (owner root or the watchdog's user, not writable by group or others, in a directory with
 *   the same property or the sticky bit), whose file name contains "cloudflared": another local
 *   user cannot make the watchdog run a program of theirs.
 */
import { realpathSync, statSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { basename, dirname, isAbsolute } from 'node:path'
import type { HandoverResult } from '../index.js'
import { isLoopbackHostHeader } from './host-header.js'

/** The header a reload request must carry. */
export const RELOAD_HEADER = 'x-scanner-tunnel-reload'
/** Largest accepted request body. */
const MAX_BODY = 4096

/** What a reload asks for. */
export interface ReloadRequest {
  /** An absolute path to the new cloudflared binary; checked by {@link checkTrustedBin}. */
  readonly bin?: string
}

/** The JSON answer of a successful `POST /reload`. */
export interface ReloadAnswer extends HandoverResult {
  /** The cloudflared process serving the tunnel after the reload. */
  readonly pid: number | undefined
}

/** A reload refused for a reason the caller can fix: answered with `status` and the message. */
export class ReloadError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.name = 'ReloadError'
    this.status = status
  }
}

/**
 * Checks that `bin` is a binary only root or this process's user can have put there.
 *
 * @throws {ReloadError} 400 naming what is wrong.
 */
export function checkTrustedBin(bin: unknown): string {
  if (typeof bin !== 'string' || bin === '' || bin.length > 4096 || bin.includes('\0')) {
    throw new ReloadError(400, '"bin" must be a non-empty path')
  }
  if (!isAbsolute(bin)) throw new ReloadError(400, `"bin" must be an absolute path, got ${bin}`)
  let real: string
  try {
    real = realpathSync(bin)
  } catch (error) {
    throw new ReloadError(
      400,
      `cannot use ${bin}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    )
  }
  if (!basename(real).includes('cloudflared')) {
    throw new ReloadError(400, `${bin}: the file name must contain "cloudflared"`)
  }
  const uid = process.getuid?.() ?? 0
  const file = statSync(real)
  if (!file.isFile() || (file.mode & 0o111) === 0) {
    throw new ReloadError(400, `${bin} is not an executable file`)
  }
  const trusted = (mode: number, owner: number, sticky: boolean): boolean =>
    (owner === 0 || owner === uid) && ((mode & 0o022) === 0 || (sticky && (mode & 0o1000) !== 0))
  if (!trusted(file.mode, file.uid, false)) {
    throw new ReloadError(
      400,
      `${bin} must be owned by root or the watchdog's user and not writable by group or others`,
    )
  }
  const dir = statSync(dirname(real))
  if (!trusted(dir.mode, dir.uid, true)) {
    throw new ReloadError(
      400,
      `${dirname(real)} (the directory of ${bin}) must be owned by root or the watchdog's user and not writable by group or others`,
    )
  }
  return real
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...(status === 405 ? { allow: 'POST' } : {}),
  })
  res.end(text)
}

/** Why `req` may not reload, or `undefined` when it may. */
export function refuseReason(req: IncomingMessage): string | undefined {
  const host = req.headers.host ?? ''
  if (!isLoopbackHostHeader(host)) {
    return `Host "${host.slice(0, 100)}" is not a loopback address`
  }
  const site = req.headers['sec-fetch-site']
  if (req.headers.origin !== undefined || (site !== undefined && site !== 'none')) {
    return 'cross-origin requests are refused'
  }
  if (req.headers[RELOAD_HEADER] !== '1') {
    return `the header "X-Scanner-Tunnel-Reload: 1" is required (scanner-tunnel reload sends it)`
  }
  return undefined
}

async function readBody(req: IncomingMessage): Promise<ReloadRequest> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new ReloadError(413, `the body is larger than ${MAX_BODY} bytes`)
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8').trim()
  if (text === '') return {}
  const type = req.headers['content-type'] ?? ''
  if (!/^application\/json\b/i.test(type)) {
    throw new ReloadError(415, 'the body must be application/json')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ReloadError(400, 'the body is not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ReloadError(400, 'the body must be a JSON object')
  }
  const unknown = Object.keys(parsed).find((k) => k !== 'bin')
  if (unknown !== undefined) {
    throw new ReloadError(400, `unknown field "${unknown.slice(0, 40)}" (accepted: "bin")`)
  }
  const bin = (parsed as { bin?: unknown }).bin
  return bin === undefined ? {} : { bin: checkTrustedBin(bin) }
}

/**
 * The `POST /reload` handler. `reload` runs the handover; one runs at a time (a second request
 * meanwhile gets 409, so no client can queue handovers).
 */
export function reloadRoute(
  reload: (request: ReloadRequest) => Promise<ReloadAnswer>,
): (req: IncomingMessage, res: ServerResponse) => void {
  let busy = false
  return (req, res) => {
    if (req.method === 'OPTIONS') {
      // A browser's preflight: granted to nobody.
      answer(res, 403, { error: 'cross-origin requests are refused' })
      return
    }
    if (req.method !== 'POST') {
      answer(res, 405, { error: 'use POST /reload (scanner-tunnel reload)' })
      return
    }
    const refused = refuseReason(req)
    if (refused !== undefined) {
      answer(res, 403, { error: refused })
      req.resume()
      return
    }
    if (busy) {
      answer(res, 409, { error: 'a reload is already running' })
      req.resume()
      return
    }
    busy = true
    readBody(req)
      .then(reload)
      .then(
        (result) => {
          answer(res, 200, result)
        },
        (error: unknown) => {
          if (error instanceof ReloadError) answer(res, error.status, { error: error.message })
          else {
            const err = error as Error & { code?: string }
            const status =
              err instanceof TypeError || err.code === 'ERR_TUNNEL_BIN_NOT_FOUND' ? 400 : 500
            answer(res, status, { error: err.message, ...(err.code ? { code: err.code } : {}) })
          }
        },
      )
      .finally(() => {
        busy = false
      })
  }
}
