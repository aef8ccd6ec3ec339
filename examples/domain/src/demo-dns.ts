/**
 * The demo's own DNS: two tiny authoritative DNS servers on 127.0.0.1 (node:dgram), one
 * standing in for the system resolver and one for the fallback resolver, so the DNS monitor
 * of the demo never sends a query off the machine. The demo injects a resolver outage (the
 * "system" server answers SERVFAIL), the monitor detects it (the fallback still answers), runs
 * its recovery action (here: restart the demo resolver, what `flushSystemdResolved()` does for
 * systemd-resolved) and reports the recovery on its next round.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import type { DnsRecoveryAction } from '@scanner/health'

/** How a demo DNS server answers: normally, SERVFAIL, or not at all. */
export type DemoDnsMode = 'answer' | 'servfail' | 'drop'

/** A DNS server of the demo on 127.0.0.1. */
export interface DemoDnsServer {
  /** `127.0.0.1:<port>`, as the DNS monitor's options take it. */
  readonly address: string
  readonly port: number
  /** Current behaviour; change it at any time. */
  mode: DemoDnsMode
  /** Queries received so far. */
  readonly queries: number
  /** Stops the server. Idempotent. */
  close(): Promise<void>
}

/** The names the demo's DNS monitor resolves: cloudflared's edge names, as in production. */
export const DEMO_DNS_NAMES: readonly string[] = Object.freeze([
  'region1.v2.argotunnel.com',
  'region2.v2.argotunnel.com',
])

/** Addresses the demo servers answer with: documentation ranges (RFC 5737), never contacted. */
const DEMO_ADDRESSES: readonly string[] = ['198.51.100.7', '198.51.100.8']

const TYPE_A = 1
const CLASS_IN = 1
const RCODE_SERVFAIL = 2
const RCODE_NXDOMAIN = 3
const MAX_QUERY_BYTES = 512

/** The question of a DNS query: the name, its type, and where the question section ends. */
function readQuestion(
  query: Buffer,
): { name: string; type: number; klass: number; end: number } | undefined {
  if (query.length < 12 || query.length > MAX_QUERY_BYTES) return undefined
  if ((query[2] ?? 0) & 0x80) return undefined // a response, not a query
  if (query.readUInt16BE(4) !== 1) return undefined // exactly one question
  const labels: string[] = []
  let offset = 12
  for (;;) {
    const length = query[offset]
    if (length === undefined || length > 63) return undefined // no compression in questions
    offset++
    if (length === 0) break
    if (offset + length > query.length) return undefined
    labels.push(query.toString('latin1', offset, offset + length).toLowerCase())
    offset += length
  }
  if (offset + 4 > query.length) return undefined
  return {
    name: labels.join('.'),
    type: query.readUInt16BE(offset),
    klass: query.readUInt16BE(offset + 2),
    end: offset + 4,
  }
}

/** The answer to `query`: A records for known names, NODATA for other types, NXDOMAIN else. */
export function answerDnsQuery(
  query: Buffer,
  records: ReadonlyMap<string, readonly string[]>,
  rcode = 0,
): Buffer | undefined {
  const question = readQuestion(query)
  if (question === undefined) return undefined
  const known = records.get(question.name)
  const addresses =
    rcode === 0 && known !== undefined && question.type === TYPE_A && question.klass === CLASS_IN
      ? known
      : []
  const code = rcode !== 0 ? rcode : known === undefined ? RCODE_NXDOMAIN : 0
  const header = Buffer.alloc(12)
  header.writeUInt16BE(query.readUInt16BE(0), 0) // id
  // QR=1, opcode 0, AA=1, RD copied, RA=1, rcode.
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | code, 2)
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(addresses.length, 6)
  const answers = addresses.map((address) => {
    const rr = Buffer.alloc(16)
    rr.writeUInt16BE(0xc00c, 0) // pointer to the question's name
    rr.writeUInt16BE(TYPE_A, 2)
    rr.writeUInt16BE(CLASS_IN, 4)
    rr.writeUInt32BE(5, 6) // TTL 5 s
    rr.writeUInt16BE(4, 10)
    address.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i))
    return rr
  })
  return Buffer.concat([header, query.subarray(12, question.end), ...answers])
}

/**
 * Starts a demo DNS server on 127.0.0.1 (port 0: a free one) answering A queries for `names`.
 *
 * @example
 * ```ts
 * const server = await startDemoDnsServer()
 * createDnsMonitor({ systemServers: [server.address], fallbacks: [] })
 * ```
 */
export async function startDemoDnsServer(
  names: readonly string[] = DEMO_DNS_NAMES,
): Promise<DemoDnsServer> {
  const records = new Map<string, readonly string[]>(
    names.map((name, i) => [name.toLowerCase(), [DEMO_ADDRESSES[i % DEMO_ADDRESSES.length] ?? '']]),
  )
  const socket: Socket = createSocket('udp4')
  let queries = 0
  let closed = false
  const server: DemoDnsServer = {
    address: '',
    port: 0,
    mode: 'answer',
    get queries() {
      return queries
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) {
          resolve()
          return
        }
        closed = true
        socket.close(() => {
          resolve()
        })
      }),
  }
  socket.on('message', (message: Buffer, peer: RemoteInfo) => {
    queries++
    if (server.mode === 'drop') return
    const answer = answerDnsQuery(message, records, server.mode === 'servfail' ? RCODE_SERVFAIL : 0)
    if (answer !== undefined) socket.send(answer, peer.port, peer.address)
  })
  socket.on('error', () => {
    // A send to a peer that went away; the demo goes on.
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject)
      resolve()
    })
  })
  socket.unref()
  const { port } = socket.address()
  return Object.assign(server, { address: `127.0.0.1:${String(port)}`, port })
}

/** `createDnsMonitor` settings of the demo: loopback resolvers only, quick rounds. */
export interface DemoDnsMonitorSettings {
  readonly names: string[]
  readonly systemServers: string[]
  readonly fallbacks: string[]
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly recovery: DnsRecoveryAction[]
}

/** The demo's resolvers and the DNS monitor settings that use them. */
export interface DemoDns {
  /** Stands in for the system resolver; the outage fault breaks it. */
  readonly system: DemoDnsServer
  /** Stands in for a fallback resolver (1.1.1.1 in production); keeps answering. */
  readonly fallback: DemoDnsServer
  /** Spread into `createDnsMonitor({ ... })`. */
  readonly monitorSettings: DemoDnsMonitorSettings
  /** Breaks the system resolver (SERVFAIL) until the monitor's recovery action repairs it. */
  outage(): void
  /** Stops both servers. Idempotent. */
  close(): Promise<void>
}

/**
 * Starts the demo's two loopback resolvers and returns DNS monitor settings that point only at
 * them, with a recovery action that repairs the "system" resolver once the monitor saw the
 * failure (and tells `print`), so the demo shows: failure detected, fallback recovery, recovered.
 *
 * @example
 * ```ts
 * const demoDns = await startDemoDns({ print: console.log })
 * const dns = createDnsMonitor({ ...demoDns.monitorSettings, logger })
 * ```
 */
export async function startDemoDns(
  options: { readonly intervalMs?: number; readonly print?: (line: string) => void } = {},
): Promise<DemoDns> {
  const system = await startDemoDnsServer()
  const fallback = await startDemoDnsServer()
  const print = options.print ?? (() => undefined)
  const repair: DnsRecoveryAction = () => {
    print(
      `>>> DNS recovery: the fallback resolver ${fallback.address} still answers, so the system resolver is restarted (as flushSystemdResolved() would)`,
    )
    system.mode = 'answer'
  }
  return {
    system,
    fallback,
    monitorSettings: {
      names: [...DEMO_DNS_NAMES],
      systemServers: [system.address],
      fallbacks: [fallback.address],
      intervalMs: options.intervalMs ?? 1000,
      // Generous: the demo's first rounds run while the process is still busy starting.
      timeoutMs: 1500,
      recovery: [repair],
    },
    outage() {
      system.mode = 'servfail'
    },
    async close() {
      await Promise.all([system.close(), fallback.close()])
    },
  }
}

/** The DNS monitor events the demo narrates (`DnsMonitor` of `@scanner/health`). */
export interface NarratedDnsMonitor {
  on(event: 'failure' | 'network-down' | 'recovered', listener: () => void): () => void
}

/**
 * Narrates the DNS monitor's episodes in the demo's `>>>` lines. Returns a disposer.
 *
 * @example
 * ```ts
 * narrateDns(dns, console.log)
 * ```
 */
export function narrateDns(monitor: NarratedDnsMonitor, print: (line: string) => void): () => void {
  let since: number | undefined
  const offs = [
    monitor.on('failure', () => {
      since = Date.now()
      print('>>> DNS failure detected: the system resolver fails, a fallback resolver answers')
    }),
    monitor.on('network-down', () => {
      since ??= Date.now()
      print('>>> DNS: no resolver answers (network down?)')
    }),
    monitor.on('recovered', () => {
      const after =
        since === undefined ? '' : ` after ${((Date.now() - since) / 1000).toFixed(1)} s`
      since = undefined
      print(`>>> DNS recovered: the system resolver answers again${after}`)
    }),
  ]
  return () => {
    for (const off of offs) off()
  }
}
