import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  MAX_CLASSIFIED_LINE_LENGTH,
  classifyCloudflaredLine,
  createLineClassifier,
} from './classify.js'
import type { CloudflaredEvent, CloudflaredEventKind } from './classify.js'
import { prng } from '../test/classify-golden-input.js'

const CORPUS_DIR = join(import.meta.dirname, '..', 'test', 'fixtures', 'corpus')
const TIME = '2026-11-28T10:22:31Z'

type Lvl = 'TRC' | 'DBG' | 'INF' | 'WRN' | 'ERR' | 'FTL' | 'PNC'
const JSON_LEVEL: Record<Lvl, string> = {
  TRC: 'trace',
  DBG: 'debug',
  INF: 'info',
  WRN: 'warn',
  ERR: 'error',
  FTL: 'fatal',
  PNC: 'panic',
}

/** One zerolog record from the catalogue in cloudflared.md. */
interface Case {
  readonly lvl: Lvl
  readonly msg: string
  readonly fields?: Record<string, string | number>
  readonly expect: Partial<CloudflaredEvent>
}

const UUID = '5f1c0e0a-8b7d-4c3e-9a2f-1e0d9c8b7a6f'
const CONN = { connIndex: 1, event: 0, ip: '198.41.192.7' }
const ORIGIN_ERR =
  'Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:5244: connect: connection refused'
const QUIC_IDLE = 'timeout: no recent network activity'
const SRV_ERR =
  'Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com: lookup _v2-origintunneld._tcp.argotunnel.com on 127.0.0.53:53: server misbehaving'
const QUIC_BLOCKED_1 =
  'If this log occurs persistently, and cloudflared is unable to connect to Cloudflare Network with `quic` protocol, then most likely your machine/network is getting its egress UDP to port 7844 (or others) blocked or dropped. Make sure to allow egress connectivity as per https://developers.cloudflare.com/cloudflare-one/connections/connect-apps/configuration/ports-and-ips/'

/** Every zerolog message of cloudflared.md §1.2 and §8 (old and new versions). */
const CATALOGUE: readonly Case[] = [
  // Startup
  { lvl: 'INF', msg: 'Starting tunnel', fields: { tunnelID: UUID }, expect: { kind: 'other' } },
  { lvl: 'INF', msg: 'Version 2026.8.2 (Checksum abc123)', expect: { kind: 'other' } },
  { lvl: 'INF', msg: 'Version 2023.10.0', expect: { kind: 'other' } },
  { lvl: 'INF', msg: 'GOOS: linux, GOVersion: go1.24.6, GoArch: amd64', expect: { kind: 'other' } },
  {
    lvl: 'INF',
    msg: 'Settings: map[no-autoupdate:true protocol:quic token:*****]',
    expect: { kind: 'other', failure: false },
  },
  { lvl: 'INF', msg: 'Environmental variables map[TUNNEL_TOKEN:*****]', expect: { kind: 'other' } },
  {
    lvl: 'INF',
    msg: 'cloudflared will not automatically update when run from the shell. To enable auto-updates, run cloudflared as a service: https://developers.cloudflare.com/x',
    expect: { kind: 'other' },
  },
  {
    lvl: 'INF',
    msg: 'cloudflared will not automatically update if installed by a package manager.',
    expect: { kind: 'other' },
  },
  {
    lvl: 'INF',
    msg: 'Autoupdate frequency is set',
    fields: { autoupdateFreq: 86400000 },
    expect: { kind: 'other' },
  },
  { lvl: 'INF', msg: `Generated Connector ID: ${UUID}`, expect: { kind: 'other' } },
  { lvl: 'INF', msg: 'Initial protocol quic', expect: { kind: 'other', protocol: 'quic' } },
  {
    lvl: 'WRN',
    msg: 'Unable to lookup protocol percentage.',
    expect: { kind: 'dns-failure', dns: true, failure: true, level: 'warn' },
  },
  {
    lvl: 'ERR',
    msg: 'Failed to fetch features, default to disable',
    fields: {
      error:
        'lookup cfd-features.argotunnel.com on 127.0.0.11:53: read udp 172.17.0.2:40000->127.0.0.11:53: i/o timeout',
    },
    expect: { kind: 'dns-failure', dns: true, failure: true },
  },
  {
    lvl: 'INF',
    msg: 'ICMP proxy will use 172.17.0.2 as source for IPv4',
    expect: { kind: 'other' },
  },
  {
    lvl: 'WRN',
    msg: 'ICMP proxy feature is disabled',
    fields: { error: 'cannot create ICMPv4 proxy: socket: permission denied' },
    expect: { kind: 'other', failure: false },
  },
  {
    lvl: 'INF',
    msg: 'Starting metrics server on 127.0.0.1:20241/metrics',
    expect: { kind: 'metrics-started', address: '127.0.0.1:20241' },
  },
  {
    lvl: 'INF',
    msg: 'Starting metrics server on [::]:36500/metrics',
    expect: { kind: 'metrics-started', address: '[::]:36500' },
  },
  {
    lvl: 'INF',
    msg: 'Tunnel connection curve preferences: [X25519MLKEM768 CurveP256]',
    fields: CONN,
    expect: { kind: 'other', connIndex: 1 },
  },
  { lvl: 'DBG', msg: 'Registering tunnel connection', fields: CONN, expect: { kind: 'other' } },
  {
    lvl: 'INF',
    msg: 'Registered tunnel connection',
    fields: {
      connIndex: 2,
      connection: UUID,
      event: 0,
      ip: '198.41.200.13',
      location: 'ams08',
      protocol: 'quic',
    },
    expect: {
      kind: 'connection-registered',
      connIndex: 2,
      connectionId: UUID,
      ip: '198.41.200.13',
      location: 'ams08',
      protocol: 'quic',
      failure: false,
    },
  },
  {
    lvl: 'INF',
    msg: `Connection ${UUID} registered with protocol: http2`,
    fields: { connIndex: 0, ip: '198.41.200.13', location: 'DFW' },
    expect: {
      kind: 'connection-registered',
      connIndex: 0,
      connectionId: UUID,
      protocol: 'http2',
      location: 'DFW',
      ip: '198.41.200.13',
    },
  },
  {
    lvl: 'INF',
    msg: `Connection ${UUID} registered`,
    fields: { connIndex: 3, location: 'ORD' },
    expect: { kind: 'connection-registered', connIndex: 3, connectionId: UUID, location: 'ORD' },
  },
  {
    lvl: 'INF',
    msg: 'Updated to new configuration',
    fields: { config: '{"ingress":[{"service":"http://127.0.0.1:8080"}]}', version: 3 },
    expect: {
      kind: 'other',
      fields: { config: '{"ingress":[{"service":"http://127.0.0.1:8080"}]}', version: '3' },
    },
  },
  {
    lvl: 'INF',
    msg: 'You requested 4 HA connections but I can give you at most 1.',
    expect: { kind: 'other' },
  },
  // Quick tunnel
  {
    lvl: 'INF',
    msg: 'Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to experiment and try it out.',
    expect: { kind: 'other' },
  },
  {
    lvl: 'INF',
    msg: 'Requesting new quick Tunnel on trycloudflare.com...',
    expect: { kind: 'other' },
  },
  { lvl: 'INF', msg: '+-------------------------------------------+', expect: { kind: 'other' } },
  {
    lvl: 'INF',
    msg: '|  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |',
    expect: { kind: 'other' },
  },
  {
    lvl: 'INF',
    msg: '|  https://seasonal-deck-organisms-sf.trycloudflare.com                                      |',
    expect: {
      kind: 'quick-tunnel-url',
      url: 'https://seasonal-deck-organisms-sf.trycloudflare.com',
    },
  },
  {
    lvl: 'ERR',
    msg: "Error unmarshaling QuickTunnel response: invalid character 'e' looking for beginning of value",
    fields: { status_code: 429 },
    expect: { kind: 'fatal', fatal: true, rateLimited: true },
  },
  // QUIC
  {
    lvl: 'ERR',
    msg: 'failed to accept incoming stream requests',
    fields: { error: `failed to accept QUIC stream: ${QUIC_IDLE}`, ...CONN },
    expect: { kind: 'quic-timeout', quic: true, failure: true, connIndex: 1 },
  },
  {
    lvl: 'WRN',
    msg: 'failed to serve tunnel connection',
    fields: { error: 'accept stream listener encountered a failure while serving', ...CONN },
    expect: { kind: 'quic-timeout', quic: true, connIndex: 1 },
  },
  {
    lvl: 'ERR',
    msg: 'Failed to dial a quic connection',
    fields: { error: `failed to dial to edge with quic: ${QUIC_IDLE}`, ...CONN },
    expect: { kind: 'quic-timeout', quic: true, failure: true },
  },
  {
    lvl: 'ERR',
    msg: 'Failed to create new quic connection',
    fields: { error: `failed to dial to edge with quic: ${QUIC_IDLE}`, ...CONN },
    expect: { kind: 'quic-timeout' },
  },
  {
    lvl: 'WRN',
    msg: 'Failed to serve quic connection',
    fields: { error: QUIC_IDLE, ...CONN },
    expect: { kind: 'quic-timeout', level: 'warn' },
  },
  {
    lvl: 'ERR',
    msg: 'Failed to create new tunnel connection',
    fields: { error: QUIC_IDLE, ...CONN },
    expect: { kind: 'quic-timeout' },
  },
  {
    lvl: 'ERR',
    msg: 'Failed to serve tunnel connection',
    fields: { error: QUIC_IDLE, ...CONN },
    expect: { kind: 'quic-timeout' },
  },
  {
    lvl: 'ERR',
    msg: 'Failed to dial a quic connection',
    fields: {
      error:
        'failed to dial to edge with quic: INTERNAL_ERROR (local): write udp 0.0.0.0:41234->198.41.192.7:7844: sendto: operation not permitted',
      ...CONN,
    },
    expect: { kind: 'connection-lost', quic: true, failure: true },
  },
  {
    lvl: 'ERR',
    msg: 'Failed to serve quic connection',
    fields: { error: 'Application error 0x0 (remote)', ...CONN },
    expect: { kind: 'connection-lost', quic: true },
  },
  {
    lvl: 'ERR',
    msg: 'failed to accept incoming stream requests',
    fields: { error: 'failed to accept QUIC stream: Application error 0x0 (remote)', ...CONN },
    expect: { kind: 'connection-lost', quic: true },
  },
  // Retry and connection loss
  {
    lvl: 'ERR',
    msg: 'Serve tunnel error',
    fields: { error: 'connection with edge closed', ...CONN },
    expect: { kind: 'connection-lost', failure: true, error: 'connection with edge closed' },
  },
  {
    lvl: 'DBG',
    msg: 'Serve tunnel error',
    fields: { error: 'context canceled', ...CONN },
    expect: { kind: 'connection-lost', failure: false },
  },
  {
    lvl: 'WRN',
    msg: 'Serve tunnel error',
    fields: { error: QUIC_IDLE, ...CONN },
    expect: { kind: 'quic-timeout' },
  },
  {
    lvl: 'INF',
    msg: 'Retrying connection in up to 2s',
    fields: CONN,
    expect: { kind: 'retrying', delayMs: 2000, connIndex: 1, failure: false },
  },
  { lvl: 'INF', msg: 'Retrying connection in up to 1s', fields: CONN, expect: { delayMs: 1000 } },
  { lvl: 'INF', msg: 'Retrying connection in up to 32s', fields: CONN, expect: { delayMs: 32000 } },
  {
    lvl: 'INF',
    msg: 'Retrying connection in up to 1m4s',
    fields: CONN,
    expect: { kind: 'retrying', delayMs: 64000 },
  },
  {
    lvl: 'INF',
    msg: 'Retrying connection in up to 2s seconds',
    fields: CONN,
    expect: { kind: 'retrying', delayMs: 2000 },
  },
  {
    lvl: 'ERR',
    msg: 'Connection terminated',
    fields: { error: 'connection with edge closed', connIndex: 1 },
    expect: { kind: 'connection-lost', connIndex: 1 },
  },
  {
    lvl: 'WRN',
    msg: 'Connection terminated',
    fields: { connIndex: 0 },
    expect: { kind: 'connection-lost', connIndex: 0, level: 'warn' },
  },
  {
    lvl: 'ERR',
    msg: 'Unable to establish connection with Cloudflare edge',
    fields: {
      error: 'DialContext error: dial tcp 198.41.192.7:7844: connect: connection refused',
      ...CONN,
    },
    expect: { kind: 'connection-lost', failure: true },
  },
  {
    lvl: 'ERR',
    msg: 'Unable to establish connection with Cloudflare edge',
    fields: {
      error:
        'TLS handshake with edge error: read tcp 10.0.0.2:40312->198.41.192.7:7844: i/o timeout',
      ...CONN,
    },
    expect: { kind: 'connection-lost' },
  },
  {
    lvl: 'ERR',
    msg: 'Unable to establish connection.',
    fields: { error: 'already connected to this server, trying another address', ...CONN },
    expect: { kind: 'connection-lost' },
  },
  {
    lvl: 'INF',
    msg: 'Lost connection with the edge',
    fields: CONN,
    expect: { kind: 'connection-lost' },
  },
  {
    lvl: 'ERR',
    msg: 'failed to serve incoming request',
    fields: { error: 'Error shutting down control stream: context canceled', ...CONN },
    expect: { kind: 'connection-lost', failure: false },
  },
  {
    lvl: 'INF',
    msg: 'Restarting connection due to reconnect signal in 5s',
    fields: CONN,
    expect: { kind: 'retrying', delayMs: 5000, failure: false },
  },
  {
    lvl: 'ERR',
    msg: 'initial tunnel connection failed',
    fields: { error: 'bad handshake from edge' },
    expect: { kind: 'fatal', fatal: true, failure: true },
  },
  {
    lvl: 'ERR',
    msg: 'no more connections active and exiting',
    expect: { kind: 'connection-lost' },
  },
  // Protocol fallback
  {
    lvl: 'WRN',
    msg: QUIC_BLOCKED_1,
    expect: { kind: 'protocol-fallback', quic: true, failure: true, level: 'warn' },
  },
  {
    lvl: 'INF',
    msg: 'Switching to fallback protocol http2',
    fields: CONN,
    expect: { kind: 'protocol-fallback', protocol: 'http2', failure: false },
  },
  {
    lvl: 'INF',
    msg: 'Changing protocol to quic',
    fields: CONN,
    expect: { kind: 'protocol-fallback', protocol: 'quic' },
  },
  // Authentication
  ...[
    'Unauthorized: Invalid tunnel secret',
    'Unauthorized: Failed to get tunnel',
    "Unauthorized: Account doesn't have tunnel",
  ].map((error): Case => ({
    lvl: 'ERR',
    msg: 'Register tunnel error from server side',
    fields: { error, ...CONN },
    expect: { kind: 'auth-failure', failure: true, error, connIndex: 1 },
  })),
  {
    lvl: 'ERR',
    msg: 'Register tunnel error from server side',
    fields: { error: 'duplicate connection', ...CONN },
    expect: { kind: 'connection-lost' },
  },
  // DNS
  {
    lvl: 'ERR',
    msg: 'edge discovery: error looking up Cloudflare edge IPs: the DNS query failed',
    fields: {
      error:
        'lookup _v2-origintunneld._tcp.argotunnel.com on 127.0.0.11:53: read udp 127.0.0.1:50000->127.0.0.11:53: i/o timeout',
      event: 0,
    },
    expect: { kind: 'dns-failure', dns: true, failure: true },
  },
  {
    lvl: 'ERR',
    msg: 'Please try the following things to diagnose this issue:',
    expect: { kind: 'other', dns: true, failure: false },
  },
  {
    lvl: 'ERR',
    msg: '  1. ensure that argotunnel.com is returning "origintunneld" service records.',
    expect: { kind: 'other', dns: true },
  },
  {
    lvl: 'ERR',
    msg: "     Run your system's equivalent of: dig srv _origintunneld._tcp.argotunnel.com",
    expect: { kind: 'other', dns: true },
  },
  {
    lvl: 'ERR',
    msg: 'Initiating shutdown',
    fields: { error: SRV_ERR },
    expect: { kind: 'dns-failure', fatal: true, dns: true, failure: true, error: SRV_ERR },
  },
  {
    lvl: 'ERR',
    msg: 'Initiating shutdown',
    fields: {
      error:
        "Couldn't resolve SRV record &{region1.v2.argotunnel.com. 7844 1 1}: lookup region1.v2.argotunnel.com on 127.0.0.53:53: no such host",
    },
    expect: { kind: 'dns-failure', fatal: true },
  },
  {
    lvl: 'ERR',
    msg: 'Initiating shutdown',
    fields: { error: 'there are no free edge addresses left to resolve to' },
    expect: { kind: 'dns-failure', fatal: true },
  },
  {
    lvl: 'ERR',
    msg: 'Failed to initialize DNS local resolver',
    fields: { error: 'lookup region1.v2.argotunnel.com: i/o timeout' },
    expect: { kind: 'dns-failure', failure: true },
  },
  {
    lvl: 'ERR',
    msg: 'Failed to refresh DNS local resolver',
    fields: { error: 'lookup region1.v2.argotunnel.com on 127.0.0.11:53: no such host' },
    expect: { kind: 'dns-failure' },
  },
  {
    lvl: 'DBG',
    msg: 'edge discovery: giving new address to connection',
    fields: CONN,
    expect: { kind: 'other' },
  },
  {
    lvl: 'DBG',
    msg: 'edge discovery: no addresses left in pool to give proxy connection',
    fields: CONN,
    expect: { kind: 'other' },
  },
  // Origin
  {
    lvl: 'ERR',
    msg: '',
    fields: {
      error: ORIGIN_ERR,
      cfRay: '8e1f2a3b4c5d6e7f-AMS',
      event: 1,
      ingressRule: 0,
      originService: 'http://127.0.0.1:5244',
    },
    expect: { kind: 'origin-error', message: '', error: ORIGIN_ERR, failure: true },
  },
  {
    lvl: 'ERR',
    msg: 'Request failed',
    fields: {
      error:
        'Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp: lookup web on 127.0.0.11:53: no such host',
      connIndex: 0,
      dest: 'https://app.example.com/',
      event: 0,
      ip: '198.41.192.7',
      type: 'http',
    },
    expect: {
      kind: 'origin-error',
      dns: true,
      connIndex: 0,
      fields: { type: 'http', dest: 'https://app.example.com/' },
    },
  },
  // Shutdown
  {
    lvl: 'INF',
    msg: 'Initiating graceful shutdown due to signal terminated ...',
    expect: { kind: 'shutdown', signal: 'terminated', failure: false },
  },
  {
    lvl: 'INF',
    msg: 'Initiating graceful shutdown due to signal interrupt ...',
    expect: { kind: 'shutdown', signal: 'interrupt' },
  },
  { lvl: 'DBG', msg: 'Graceful shutdown signalled', expect: { kind: 'shutdown' } },
  {
    lvl: 'INF',
    msg: 'Unregistered tunnel connection',
    fields: { connIndex: 0, event: 0, ip: '198.41.192.7' },
    expect: { kind: 'shutdown', connIndex: 0 },
  },
  { lvl: 'INF', msg: 'Tunnel server stopped', expect: { kind: 'shutdown' } },
  { lvl: 'INF', msg: 'Metrics server stopped', expect: { kind: 'shutdown' } },
  {
    lvl: 'ERR',
    msg: 'Initiating shutdown',
    fields: { error: 'failed to bind to address (127.0.0.1:2000): address already in use' },
    expect: { kind: 'fatal', fatal: true },
  },
  {
    lvl: 'ERR',
    msg: 'Initiating shutdown',
    fields: { error: 'cloudflared has been updated to version 2026.9.0' },
    expect: { kind: 'shutdown', failure: false },
  },
  // Metrics / other
  {
    lvl: 'ERR',
    msg: 'Error opening metrics server listener',
    fields: { error: 'listen tcp 127.0.0.1:20241: bind: address already in use' },
    expect: { kind: 'fatal', fatal: true },
  },
  {
    lvl: 'ERR',
    msg: "Couldn't start tunnel",
    fields: { error: 'The last ingress rule must match all URLs' },
    expect: { kind: 'fatal', fatal: true },
  },
  {
    lvl: 'ERR',
    msg: 'icmp router terminated',
    fields: { error: 'context canceled' },
    expect: { kind: 'other', failure: false },
  },
  {
    lvl: 'ERR',
    msg: 'update check failed',
    fields: {
      error:
        'Get "https://update.argotunnel.com?arch=amd64&clientVersion=2023.7.3&os=linux": dial tcp: lookup update.argotunnel.com on 127.0.0.53:53: server misbehaving',
    },
    expect: { kind: 'other', failure: false, dns: true },
  },
  {
    lvl: 'INF',
    msg: 'cloudflared has been updated to version 2026.9.0',
    expect: { kind: 'shutdown' },
  },
  {
    lvl: 'ERR',
    msg: 'update failed to apply',
    fields: { error: 'permission denied' },
    expect: { kind: 'other' },
  },
  {
    lvl: 'WRN',
    msg: 'Your version 2023.7.3 is outdated. We recommend upgrading it to 2026.8.2',
    expect: { kind: 'other' },
  },
  { lvl: 'WRN', msg: 'observer channel buffer is full', expect: { kind: 'other' } },
  // Pre-checks (2026.5.0+)
  { lvl: 'INF', msg: '|  CONNECTIVITY PRE-CHECKS  |', expect: { kind: 'other' } },
  {
    lvl: 'INF',
    msg: 'precheck',
    fields: {
      component: 'dns',
      details: 'resolved 2 addresses',
      hard_fail: 'false',
      run_id: 'abc',
      status: 'pass',
      suggested_protocol: '',
      target: 'region1.v2.argotunnel.com',
    },
    expect: { kind: 'other', fields: { suggested_protocol: '', details: 'resolved 2 addresses' } },
  },
  // Fatal by level
  {
    lvl: 'FTL',
    msg: 'Something went wrong',
    fields: { error: 'boom' },
    expect: { kind: 'fatal', fatal: true, level: 'fatal' },
  },
  { lvl: 'PNC', msg: 'panic: runtime error', expect: { kind: 'fatal', level: 'panic' } },
  { lvl: 'TRC', msg: 'trace line', expect: { kind: 'other', level: 'trace' } },
]

/** Plain (non-zerolog) lines: urfave/cli error text, help text, quic-go, continuation lines. */
const PLAIN: readonly { line: string; expect: Partial<CloudflaredEvent> }[] = [
  {
    line: '2026/11/28 10:22:31 failed to sufficiently increase receive buffer size (was: 208 kiB, wanted: 7168 kiB, got: 416 kiB). See https://github.com/quic-go/quic-go/wiki/UDP-Buffer-Sizes for details.',
    expect: {
      kind: 'other',
      level: 'warn',
      quic: true,
      failure: false,
      time: '2026-11-28T10:22:31',
      format: 'stdlib',
    },
  },
  {
    line: 'failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp: lookup api.trycloudflare.com on 127.0.0.53:53: server misbehaving',
    expect: { kind: 'dns-failure', fatal: true, dns: true, level: 'error', url: undefined },
  },
  {
    line: 'failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
    expect: { kind: 'fatal', fatal: true, failure: true, quic: undefined },
  },
  {
    line: 'failed to request quick Tunnel: 429 Too Many Requests: error code: 1015',
    expect: { kind: 'fatal', rateLimited: true },
  },
  {
    line: "failed to unmarshal quick Tunnel: invalid character 'e' looking for beginning of value",
    expect: { kind: 'fatal', fatal: true },
  },
  { line: 'failed to parse quick Tunnel ID: invalid UUID length: 0', expect: { kind: 'fatal' } },
  { line: SRV_ERR, expect: { kind: 'dns-failure', fatal: true, level: 'error' } },
  {
    line: 'there are no free edge addresses left to resolve to',
    expect: { kind: 'dns-failure', fatal: true },
  },
  {
    line: 'Incorrect Usage. flag provided but not defined: -bogus-flag',
    expect: { kind: 'fatal', usage: true, fatal: true },
  },
  {
    line: 'Incorrect Usage: flag provided but not defined: -log-format-output',
    expect: { kind: 'fatal', usage: true },
  },
  {
    line: '"cloudflared tunnel run" requires the ID or name of the tunnel to run as the last command line argument or in the configuration file.',
    expect: { kind: 'fatal', usage: true, fatal: true },
  },
  {
    line: "See 'cloudflared tunnel run --help'.",
    expect: { kind: 'other', continuation: true, usage: true, failure: false },
  },
  {
    line: 'You did not specify any valid additional argument to the cloudflared tunnel command.',
    expect: { kind: 'fatal', usage: true },
  },
  {
    line: 'Provided Tunnel token is not valid.',
    expect: { kind: 'auth-failure', fatal: true, usage: true, failure: true },
  },
  {
    line: 'Failed to read token file: open /run/secrets/tunnel-token: no such file or directory',
    expect: { kind: 'auth-failure', fatal: true, usage: true },
  },
  {
    line: 'If you are using private routing to this Tunnel, then ICMP, UDP (and Private DNS Resolution) will not work unless your cloudflared can connect with Cloudflare Network with `quic`. connIndex=0 event=0 ip=198.41.200.13',
    expect: {
      kind: 'other',
      level: 'warn',
      quic: true,
      continuation: true,
      failure: false,
      connIndex: 0,
      fields: { connIndex: '0', event: '0', ip: '198.41.200.13' },
    },
  },
  { line: 'NAME:', expect: { kind: 'other', failure: false } },
  {
    line: '   cloudflared tunnel run - Proxy a local web server by running the given tunnel',
    expect: { kind: 'other', failure: false },
  },
  { line: 'cloudflared version 2023.7.3 (built 2023-07-20-1200 UTC)', expect: { kind: 'other' } },
]

// --- line builders ------------------------------------------------------------------------------

function goQuote(value: string): string {
  // zerolog's console quotes strings with strconv.Quote when they need it.
  return /[\s"\\=]|[^\x21-\x7e]/.test(value) || value === '' ? JSON.stringify(value) : value
}

function consoleLine(c: Case, time = TIME): string {
  const entries = Object.entries(c.fields ?? {})
  const error = entries.filter(([k]) => k === 'error')
  const rest = entries.filter(([k]) => k !== 'error').sort(([a], [b]) => (a < b ? -1 : 1))
  const fields = [...error, ...rest]
    .map(([k, v]) => `${k}=${typeof v === 'number' ? String(v) : goQuote(v)}`)
    .join(' ')
  const head = `${time} ${c.lvl} ${c.msg}`
  if (fields === '') return head
  return c.msg === '' ? `${head} ${fields}` : `${head} ${fields}`
}

/** `--output json`: keys sorted. */
function jsonSortedLine(c: Case): string {
  const obj: Record<string, unknown> = { ...c.fields, level: JSON_LEVEL[c.lvl], time: TIME }
  if (c.msg !== '') obj.message = c.msg
  const sorted = Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : 1)))
  return JSON.stringify(sorted)
}

/** `--logfile` native zerolog JSON: level first, fields in insertion order, time, message. */
function jsonNativeLine(c: Case): string {
  const obj: Record<string, unknown> = { level: JSON_LEVEL[c.lvl], ...c.fields, time: TIME }
  if (c.msg !== '') obj.message = c.msg
  return JSON.stringify(obj)
}

const PREFIXES: readonly (readonly [string, (line: string) => string])[] = [
  ['none', (l) => l],
  ['journald', (l) => `Nov 28 10:22:31 host cloudflared[1234]: ${l}`],
  ['journald short-iso', (l) => `2026-11-28T10:22:31+0000 host cloudflared[1234]: ${l}`],
  ['syslog rfc3164', (l) => `<30>Nov  8 10:22:31 host cloudflared[1234]: ${l}`],
  ['syslog rfc5424', (l) => `<30>1 2026-11-28T10:22:31Z host cloudflared 1234 - - ${l}`],
  ['compose v2', (l) => `cloudflared-1  | ${l}`],
  ['compose v1', (l) => `tunnel_1 | ${l}`],
  ['docker timestamps', (l) => `2026-11-28T10:22:31.123456789Z ${l}`],
  ['compose + docker timestamps', (l) => `cloudflared-1  | 2026-11-28T10:22:31.123456789Z ${l}`],
]

// --- catalogue --------------------------------------------------------------------------------

describe('classifyCloudflaredLine: message catalogue', () => {
  for (const c of CATALOGUE) {
    const label = `${c.lvl} ${c.msg.slice(0, 70)}${c.fields?.error === undefined ? '' : ` error=${String(c.fields.error).slice(0, 40)}`}`
    it(label, () => {
      const formats: [string, string][] = [
        ['console', consoleLine(c)],
        ['json sorted', jsonSortedLine(c)],
        ['json native', jsonNativeLine(c)],
      ]
      for (const [format, line] of formats) {
        for (const [prefix, wrap] of PREFIXES) {
          const event = classifyCloudflaredLine(wrap(line))
          expect(event, `${format} / ${prefix}: ${wrap(line)}`).toMatchObject({
            level: JSON_LEVEL[c.lvl] === 'warn' ? 'warn' : JSON_LEVEL[c.lvl],
            message: c.msg.trim(),
            time: TIME,
            ...c.expect,
          })
          if (c.fields?.error !== undefined) expect(event.error).toBe(c.fields.error)
          if (c.fields?.connIndex !== undefined) expect(event.connIndex).toBe(c.fields.connIndex)
        }
      }
      // Case-insensitive matching: the same line upper-cased classifies the same.
      const upper = classifyCloudflaredLine(consoleLine({ ...c, msg: c.msg.toUpperCase() }))
      expect(upper.kind).toBe(c.expect.kind ?? classifyCloudflaredLine(consoleLine(c)).kind)
    })
  }
})

describe('classifyCloudflaredLine: plain lines', () => {
  for (const p of PLAIN) {
    it(p.line.slice(0, 80), () => {
      for (const [prefix, wrap] of PREFIXES) {
        const event = classifyCloudflaredLine(wrap(p.line))
        expect(event, prefix).toMatchObject(p.expect)
      }
    })
  }
})

// --- console format details ----------------------------------------------------------------------

describe('console format', () => {
  it('splits the message from sorted fields, error first, with Go quoting', () => {
    const e = classifyCloudflaredLine(
      `${TIME} ERR update check failed error="Get \\"https://update.argotunnel.com?arch=amd64&os=linux\\": EOF" connIndex=0 note="tab\\there" raw=a=b`,
    )
    expect(e.message).toBe('update check failed')
    expect(e.fields).toEqual({
      error: 'Get "https://update.argotunnel.com?arch=amd64&os=linux": EOF',
      connIndex: '0',
      note: 'tab\there',
      raw: 'a=b',
    })
    expect(e.error).toBe('Get "https://update.argotunnel.com?arch=amd64&os=linux": EOF')
  })

  it('keeps `=` inside the message when the rest is not a field run', () => {
    const e = classifyCloudflaredLine(`${TIME} INF value a=b is odd here connIndex=4`)
    expect(e.message).toBe('value a=b is odd here')
    expect(e.fields).toEqual({ connIndex: '4' })
    expect(e.connIndex).toBe(4)
  })

  it('parses the empty message with two spaces', () => {
    const e = classifyCloudflaredLine(`${TIME} ERR  error="x y" originService=http://a`)
    expect(e).toMatchObject({ message: '', error: 'x y', kind: 'origin-error' })
  })

  it('decodes Go escapes: \\n, \\x, \\u, octal, unknown', () => {
    const e = classifyCloudflaredLine(`${TIME} INF m a="l1\\nl2 \\x41\\u00e9\\101 \\q"`)
    expect(e.fields.a).toBe('l1\nl2 AéA q')
  })

  it('accepts an unterminated quoted value at the end (a cut line)', () => {
    const e = classifyCloudflaredLine(`${TIME} ERR Serve tunnel error error="broken pipe wh`)
    expect(e).toMatchObject({ kind: 'connection-lost', error: 'broken pipe wh' })
  })

  it('finds the closing quote past escaped quotes and escaped backslashes', () => {
    const e = classifyCloudflaredLine(
      `${TIME} ERR m error="a \\"b\\" c" path="C:\\\\" next="\\\\\\"q" plain="no escapes" n=1`,
    )
    expect(e.message).toBe('m')
    expect(e.fields).toEqual({
      error: 'a "b" c',
      path: 'C:\\',
      next: '\\"q',
      plain: 'no escapes',
      n: '1',
    })
  })

  it('keeps a backslash that ends a cut line', () => {
    const e = classifyCloudflaredLine(`${TIME} ERR m a="x" error="cut here\\`)
    expect(e.fields).toEqual({ a: 'x', error: 'cut here' })
  })

  it('parses many quoted values, some escaped, on one line', () => {
    const parts: string[] = []
    const expected: Record<string, string> = {}
    for (let i = 0; i < 500; i++) {
      parts.push(i % 3 === 0 ? `k${i}="v \\"${i}\\""` : `k${i}="v ${i}"`)
      expected[`k${i}`] = i % 3 === 0 ? `v "${i}"` : `v ${i}`
    }
    const e = classifyCloudflaredLine(`${TIME} INF many ${parts.join(' ')}`)
    expect(e.message).toBe('many')
    expect(e.fields).toEqual(expected)
  })

  it('keeps keys that look like known ones apart from them', () => {
    const e = classifyCloudflaredLine(
      `${TIME} INF m connIndexX=1 ix=2 ip=3 IP=4 statuz=5 status=6 status_cod=7 protocoL=8 connIndex=9`,
    )
    expect(e.fields).toEqual({
      connIndexX: '1',
      ix: '2',
      ip: '3',
      IP: '4',
      statuz: '5',
      status: '6',
      status_cod: '7',
      protocoL: '8',
      connIndex: '9',
    })
    expect(e).toMatchObject({ connIndex: 9, ip: '3' })
    expect(e.protocol).toBeUndefined()
  })

  it('reads the retry delay of every version and ignores odd spacing', () => {
    const delay = (rest: string): number | undefined =>
      classifyCloudflaredLine(`${TIME} INF Retrying connection in ${rest} connIndex=0`).delayMs
    expect(delay('up to 1m4s')).toBe(64_000)
    expect(delay('up to 2s seconds')).toBe(2000)
    expect(delay('2 seconds')).toBe(2000)
    expect(delay('UP TO 4s')).toBe(4000)
    expect(delay('up to')).toBeUndefined()
    expect(delay('up  to 2s')).toBeUndefined()
    expect(delay('upto 2s')).toBeUndefined()
  })

  it('takes connIndex as a number only when it is 1 to 9 digits', () => {
    const index = (v: string): number | undefined =>
      classifyCloudflaredLine(`${TIME} INF Registered tunnel connection connIndex=${v}`).connIndex
    expect(index('0')).toBe(0)
    expect(index('123456789')).toBe(123456789)
    expect(index('1234567890')).toBeUndefined()
    expect(index('-1')).toBeUndefined()
    expect(index('1a')).toBeUndefined()
  })

  it('ignores a __proto__ field', () => {
    const e = classifyCloudflaredLine(`${TIME} INF m __proto__=x a=1`)
    expect(e.fields).toEqual({ a: '1' })
    expect(Object.getPrototypeOf(e.fields)).toBe(Object.prototype)
  })

  it('strips ANSI colours (a TTY user)', () => {
    const line = `\u001b[90m${TIME}\u001b[0m \u001b[32mINF\u001b[0m Registered tunnel connection \u001b[36mconnIndex=\u001b[0m0 \u001b[36mlocation=\u001b[0mams08`
    expect(classifyCloudflaredLine(line)).toMatchObject({
      kind: 'connection-registered',
      connIndex: 0,
      location: 'ams08',
      level: 'info',
    })
  })

  it('turns NUL, CR and LF inside a line into spaces, with or without colours', () => {
    expect(classifyCloudflaredLine(`${TIME} INF Tunnel\u0000server stopped`)).toMatchObject({
      kind: 'shutdown',
      message: 'Tunnel server stopped',
    })
    expect(
      classifyCloudflaredLine(`${TIME} INF Registered tunnel connection\nconnIndex=1\r`),
    ).toMatchObject({ kind: 'connection-registered', connIndex: 1 })
    expect(
      classifyCloudflaredLine(`${TIME} \u001b[32mINF\u001b[0m Tunnel\rserver stopped\u0007`),
    ).toMatchObject({ kind: 'shutdown', message: 'Tunnel server stopped' })
  })

  it('handles a trailing CR and a console line without timestamp', () => {
    expect(classifyCloudflaredLine(`${TIME} INF Tunnel server stopped\r`).kind).toBe('shutdown')
    expect(classifyCloudflaredLine('INF |  https://a-b-c.trycloudflare.com  |')).toMatchObject({
      kind: 'quick-tunnel-url',
      url: 'https://a-b-c.trycloudflare.com',
      time: undefined,
    })
  })

  it('does not take api.trycloudflare.com for the quick-tunnel URL', () => {
    const e = classifyCloudflaredLine(`${TIME} INF |  https://api.trycloudflare.com  |`)
    expect(e.kind).toBe('other')
    expect(e.url).toBeUndefined()
  })

  it('accepts timestamps with fractions and offsets', () => {
    expect(
      classifyCloudflaredLine('2026-11-28T10:22:31.123+01:00 INF Tunnel server stopped'),
    ).toMatchObject({
      kind: 'shutdown',
      time: '2026-11-28T10:22:31.123+01:00',
    })
  })

  it('accepts only whole timestamps (fraction of 1-10 digits, complete offset)', () => {
    const parse = (ts: string): Pick<CloudflaredEvent, 'kind' | 'format' | 'time'> => {
      const { kind, format, time } = classifyCloudflaredLine(`${ts} INF Tunnel server stopped`)
      return { kind, format, time }
    }
    const rejected = { kind: 'other', format: 'plain', time: undefined }
    for (const ts of ['2026-11-28t10:22:31z', '2026-11-28T10:22:31+0100', '2026-11-28T10:22:31']) {
      expect(parse(ts)).toEqual({ kind: 'shutdown', format: 'console', time: ts })
    }
    expect(parse('2026-11-28T10:22:31.')).toEqual(rejected)
    expect(parse('2026-11-28T10:22:31.12345678901Z')).toEqual(rejected)
    expect(parse('2026-11-28T10:22:31.12345678+901Z')).toEqual(rejected)
    expect(parse('2026-11-28T10:22:31.1234567890-Z')).toEqual(rejected)
    expect(parse('2026-11-28T10:22:31+01:0x')).toEqual(rejected)
    expect(parse('2026-11-28T1O:22:31Z')).toEqual(rejected)
  })

  it('takes the docker timestamp as time of a plain line', () => {
    expect(
      classifyCloudflaredLine('2026-11-28T10:22:31.5Z Provided Tunnel token is not valid.'),
    ).toMatchObject({
      kind: 'auth-failure',
      time: '2026-11-28T10:22:31.5Z',
    })
  })
})

describe('JSON formats', () => {
  it('reads fields as strings and keeps nested values as JSON', () => {
    const e = classifyCloudflaredLine(
      '{"level":"info","connIndex":0,"ok":true,"nested":{"a":[1,2]},"nil":null,"time":"2026-11-28T10:22:31Z","message":"Registered tunnel connection"}',
    )
    expect(e).toMatchObject({
      kind: 'connection-registered',
      format: 'json',
      connIndex: 0,
      fields: { connIndex: '0', ok: 'true', nested: '{"a":[1,2]}', nil: 'null' },
    })
  })

  it('classifies the multi-line QUIC warning as one record', () => {
    const e = classifyCloudflaredLine(
      JSON.stringify({
        level: 'warn',
        connIndex: 0,
        time: TIME,
        message: `${QUIC_BLOCKED_1}\nIf you are using private routing to this Tunnel, then ICMP, UDP (and Private DNS Resolution) will not work unless your cloudflared can connect with Cloudflare Network with \`quic\`.`,
      }),
    )
    expect(e).toMatchObject({ kind: 'protocol-fallback', quic: true, connIndex: 0, level: 'warn' })
  })

  it('salvages a cut or broken JSON line', () => {
    const e = classifyCloudflaredLine(
      '{"level":"error","time":"2026-11-28T10:22:31Z","message":"Initiating shutdown","error":"Could not lookup srv records on _v2-origin',
    )
    expect(e).toMatchObject({ format: 'json', level: 'error', time: TIME, kind: 'dns-failure' })
  })

  it('treats JSON that is not an object as text', () => {
    expect(classifyCloudflaredLine('{}').kind).toBe('other')
    expect(classifyCloudflaredLine('[1,2]').kind).toBe('other')
    expect(classifyCloudflaredLine('{"__proto__":{"x":1},"message":"m"}').fields).toEqual({})
  })
})

// --- robustness -------------------------------------------------------------------------------

const KINDS = new Set<CloudflaredEventKind>([
  'quic-timeout',
  'dns-failure',
  'connection-registered',
  'connection-lost',
  'retrying',
  'protocol-fallback',
  'auth-failure',
  'origin-error',
  'metrics-started',
  'quick-tunnel-url',
  'shutdown',
  'fatal',
  'other',
])
const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic'])

function isValid(e: CloudflaredEvent): boolean {
  return (
    KINDS.has(e.kind) &&
    LEVELS.has(e.level) &&
    typeof e.message === 'string' &&
    e.message.length <= MAX_CLASSIFIED_LINE_LENGTH &&
    Object.values(e.fields).every((v) => typeof v === 'string') &&
    typeof e.failure === 'boolean' &&
    (e.time === undefined || typeof e.time === 'string')
  )
}

function assertValid(e: CloudflaredEvent): void {
  expect(isValid(e), JSON.stringify(e).slice(0, 300)).toBe(true)
}

function corpusLines(): string[] {
  const lines: string[] = []
  for (const file of readdirSync(CORPUS_DIR).sort()) {
    for (const line of readFileSync(join(CORPUS_DIR, file), 'utf8').split('\n')) {
      if (line !== '') lines.push(line)
    }
  }
  return lines
}

describe('robustness', () => {
  it('returns other for empty, non-string and whitespace input', () => {
    for (const input of ['', ' ', '\n', '\r\n', '\u0000', undefined, null, 42, {}, Symbol('x')]) {
      const e = classifyCloudflaredLine(input as string)
      expect(e.kind).toBe('other')
      assertValid(e)
    }
  })

  it('survives invalid UTF-8 (replacement characters) and control characters', () => {
    const bytes = Buffer.from([
      0xff, 0xfe, 0x41, 0xc3, 0x28, 0x00, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x07,
    ])
    const text = bytes.toString('utf8')
    expect(text).toContain('\ufffd')
    assertValid(classifyCloudflaredLine(text))
    const e = classifyCloudflaredLine(
      `${TIME} ERR Connection terminated\u0000 connIndex=1 \ufffd=x`,
    )
    assertValid(e)
    expect(e.kind).toBe('connection-lost')
  })

  it('fuzz: 20,000 random byte strings and mutations of real lines never throw', () => {
    const random = prng(0x5eed)
    const real = corpusLines()
    const alphabet = ' ="\\=|:[]{}<>\u001b\u0000\n\r\tabcZ019.-_/\ufffd\ud800é'
    const stateful = createLineClassifier()
    const invalid: string[] = []
    for (let i = 0; i < 20_000; i++) {
      let line: string
      if (i % 2 === 0) {
        const bytes = Buffer.alloc(Math.floor(random() * 300))
        for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(random() * 256)
        line = bytes.toString('utf8')
      } else {
        line = real[Math.floor(random() * real.length)]!
        const edits = 1 + Math.floor(random() * 6)
        for (let k = 0; k < edits; k++) {
          const at = Math.floor(random() * (line.length + 1))
          const op = random()
          if (op < 0.4) {
            line =
              line.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)]! + line.slice(at)
          } else if (op < 0.7) {
            line = line.slice(0, at) + line.slice(at + 1 + Math.floor(random() * 10))
          } else if (op < 0.85) {
            line = line.slice(0, at)
          } else {
            line = line.slice(0, at) + line.slice(Math.floor(random() * line.length))
          }
        }
      }
      if (!isValid(classifyCloudflaredLine(line)) || !isValid(stateful.classify(line))) {
        invalid.push(line)
      }
    }
    expect(invalid).toEqual([])
  })

  it(
    'cuts a 10 MB line and does bounded work on pathological input',
    // Far above the few milliseconds this takes; only an unbounded algorithm would hit it.
    { timeout: 10_000 },
    () => {
      const ten = 10 * 1024 * 1024
      const inputs = [
        'x'.repeat(ten),
        `${TIME} ERR Serve tunnel error error="${'a'.repeat(ten)}`,
        `${TIME} INF ${'a=b '.repeat(ten / 4)}x`,
        `${TIME} INF ${'a="b '.repeat(ten / 5)}`,
        `${TIME} INF ${' a='.repeat(ten / 3)}`,
        `{"message":"${'\\"'.repeat(ten / 2)}`,
        '\u001b['.repeat(ten / 2),
        `Nov 28 10:22:31 ${'h'.repeat(ten)}`,
        `<30>1 ${'x '.repeat(ten / 2)}`,
        `cloudflared-1 ${' '.repeat(ten)}| x`,
        '2026-11-28T10:22:31Z '.repeat(ten / 21),
      ]
      for (const input of inputs) {
        const e = classifyCloudflaredLine(input)
        assertValid(e)
        expect(e.truncated).toBe(true)
      }
    },
  )
})

// --- corpora --------------------------------------------------------------------------------

function classifyFile(name: string): CloudflaredEvent[] {
  const classifier = createLineClassifier()
  return readFileSync(join(CORPUS_DIR, name), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => classifier.classify(l))
}

function kinds(events: CloudflaredEvent[]): string[] {
  return events.map((e) => e.kind)
}

describe('corpora (stateful classifier)', () => {
  it('named tunnel startup: four registrations, metrics address, origin errors', () => {
    const events = classifyFile('named-tunnel-startup.log')
    expect(
      events.filter((e) => e.kind === 'connection-registered').map((e) => e.connIndex),
    ).toEqual([0, 1, 2, 3])
    expect(events.find((e) => e.kind === 'metrics-started')?.address).toBe('127.0.0.1:20241')
    expect(events.filter((e) => e.kind === 'origin-error')).toHaveLength(2)
    expect(events.filter((e) => e.failure === true).map((e) => e.kind)).toEqual([
      'origin-error',
      'origin-error',
    ])
  })

  it('2023-era startup: old registration formats and old QUIC messages', () => {
    const events = classifyFile('named-tunnel-startup-2023.log')
    const registered = events.filter((e) => e.kind === 'connection-registered')
    expect(registered.map((e) => [e.connIndex, e.protocol, e.location])).toEqual([
      [0, 'quic', 'ORD'],
      [1, 'quic', 'DFW'],
      [1, 'quic', 'ORD'],
      [0, undefined, 'ORD'],
    ])
    expect(events.filter((e) => e.kind === 'quic-timeout' && e.incidentStart)).toHaveLength(2)
    expect(events.filter((e) => e.kind === 'retrying').map((e) => e.delayMs)).toEqual([
      2000, 4000, 2000,
    ])
  })

  it('QUIC incident burst: several lines per incident count once; non-timeout causes do not count', () => {
    const events = classifyFile('quic-incident-burst.log')
    const starts = events.filter((e) => e.incidentStart === true)
    expect(starts.map((e) => e.connIndex)).toEqual([0, 0, 2])
    expect(events.filter((e) => e.kind === 'quic-timeout')).toHaveLength(7)
    // connIndex 3: Application error then `operation not permitted`: QUIC trouble, not a timeout.
    const conn3 = events.filter((e) => e.connIndex === 3 && e.failure === true)
    expect(conn3.map((e) => e.kind)).toEqual([
      'connection-lost',
      'connection-lost',
      'connection-lost',
      'connection-lost',
    ])
    expect(conn3.every((e) => e.quic === true)).toBe(true)
    expect(events.find((e) => e.continuation === true)).toMatchObject({
      kind: 'other',
      level: 'warn',
    })
    expect(
      events.find((e) => e.kind === 'protocol-fallback' && e.protocol === 'http2')?.connIndex,
    ).toBe(3)
  })

  it('quick tunnel startup: the URL from the box', () => {
    const events = classifyFile('quick-tunnel-startup.log')
    const urls = events.filter((e) => e.kind === 'quick-tunnel-url')
    expect(urls.map((e) => e.url)).toEqual(['https://seasonal-deck-organisms-sf.trycloudflare.com'])
    expect(events.some((e) => e.failure === true)).toBe(false)
  })

  it('graceful shutdown: noisy ERR lines are not failures', () => {
    const events = classifyFile('graceful-shutdown.log')
    expect(events.every((e) => e.kind === 'shutdown' || e.kind === 'other')).toBe(true)
    expect(events.some((e) => e.failure === true)).toBe(false)
    expect(events.slice(1).every((e) => e.duringShutdown === true)).toBe(true)
    expect(events.map((e) => e.originalKind).filter(Boolean)).toEqual([
      'connection-lost',
      'connection-lost',
      'quic-timeout',
      'retrying',
      'quic-timeout',
      'connection-lost',
      'connection-lost',
    ])
    // The pure function, without memory, still sees the failures.
    const pure = readFileSync(join(CORPUS_DIR, 'graceful-shutdown.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => classifyCloudflaredLine(l))
    expect(pure.filter((e) => e.failure === true).length).toBeGreaterThan(3)
  })

  it('2023.7.3 offline output (cloudflared.md §8)', () => {
    const lines = readFileSync(join(CORPUS_DIR, 'offline-2023.7.3.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
    const pure = lines.map((l) => classifyCloudflaredLine(l))
    expect(kinds(pure).slice(9, 21)).toEqual([
      'other', // update check failed
      'dns-failure', // edge discovery
      'other',
      'other',
      'other',
      'other',
      'other',
      'other',
      'other',
      'dns-failure', // Initiating shutdown
      'shutdown',
      'shutdown',
    ])
    expect(pure[21]).toMatchObject({ kind: 'dns-failure', fatal: true, format: 'plain' })
    expect(kinds(pure).slice(-7)).toEqual([
      'shutdown', // Metrics server stopped
      'fatal', // Error opening metrics server listener
      'dns-failure', // failed to request quick Tunnel (DNS)
      'fatal', // requires the ID or name
      'other', // See '... --help'.
      'auth-failure', // Provided Tunnel token is not valid.
      'fatal', // Incorrect Usage
    ])
    expect(pure.filter((e) => e.fatal === true)).toHaveLength(7)
  })

  it('Unauthorized loop', () => {
    const events = classifyFile('unauthorized-loop.log')
    expect(events.filter((e) => e.kind === 'auth-failure')).toHaveLength(3)
  })

  it('JSON corpora classify like their console twins', () => {
    expect(kinds(classifyFile('output-json.log'))).toEqual([
      'other',
      'metrics-started',
      'connection-registered',
      'quic-timeout',
      'quic-timeout',
      'retrying',
      'protocol-fallback',
      'origin-error',
      'shutdown',
      'shutdown',
    ])
    expect(kinds(classifyFile('logfile-native.log'))).toEqual([
      'other',
      'metrics-started',
      'connection-registered',
      'quic-timeout',
      'retrying',
      'auth-failure',
      'dns-failure',
    ])
  })

  it('prefixed lines (docker compose, journald, syslog, docker timestamps)', () => {
    expect(kinds(classifyFile('docker-compose-prefixed.log'))).toEqual([
      'other',
      'metrics-started',
      'connection-registered',
      'dns-failure',
      'connection-registered',
      'dns-failure',
      'dns-failure',
      'retrying',
    ])
  })
})

describe('createLineClassifier', () => {
  it('marks lines after a graceful shutdown and resets', () => {
    const c = createLineClassifier()
    const terminated = `${TIME} ERR Connection terminated error="connection with edge closed" connIndex=0`
    expect(c.classify(terminated)).toMatchObject({ kind: 'connection-lost', failure: true })
    expect(c.shuttingDown).toBe(false)
    c.classify(`${TIME} INF Initiating graceful shutdown due to signal terminated ...`)
    expect(c.shuttingDown).toBe(true)
    expect(c.classify(terminated)).toMatchObject({
      kind: 'shutdown',
      originalKind: 'connection-lost',
      failure: false,
      duringShutdown: true,
      level: 'error',
    })
    c.reset()
    expect(c.shuttingDown).toBe(false)
    expect(c.classify(terminated).kind).toBe('connection-lost')
  })

  it('leaves the shutdown state on a startup line', () => {
    const c = createLineClassifier()
    c.classify(`${TIME} INF Tunnel server stopped`)
    expect(c.shuttingDown).toBe(true)
    c.classify(`${TIME} INF Starting tunnel tunnelID=${UUID}`)
    expect(c.shuttingDown).toBe(false)
  })

  it('keeps fatal lines fatal after a fatal Initiating shutdown', () => {
    const c = createLineClassifier()
    expect(c.classify(`${TIME} ERR Initiating shutdown error="${SRV_ERR}"`)).toMatchObject({
      kind: 'dns-failure',
      fatal: true,
      failure: true,
    })
    expect(c.shuttingDown).toBe(true)
    expect(c.classify(SRV_ERR)).toMatchObject({
      kind: 'dns-failure',
      fatal: true,
      duringShutdown: true,
    })
  })

  it('starts a new QUIC incident on each dial failure and after Retrying', () => {
    const c = createLineClassifier()
    const dial = `${TIME} ERR Failed to create new quic connection error="failed to dial to edge with quic: ${QUIC_IDLE}" connIndex=0`
    expect(c.classify(dial).incidentStart).toBe(true)
    expect(c.classify(dial).incidentStart).toBe(true)
    const serve = `${TIME} WRN Serve tunnel error error="${QUIC_IDLE}" connIndex=0`
    expect(c.classify(serve).incidentStart).toBe(false)
    c.classify(`${TIME} INF Retrying connection in up to 1s connIndex=0`)
    expect(c.classify(serve).incidentStart).toBe(true)
    // A different connection is a different incident.
    expect(c.classify(serve.replace('connIndex=0', 'connIndex=1')).incidentStart).toBe(true)
  })

  it("counts the supervisor's `Connection terminated` echo after Retrying with its incident", () => {
    const c = createLineClassifier()
    const accept = `${TIME} ERR failed to accept incoming stream requests error="failed to accept QUIC stream: ${QUIC_IDLE}" connIndex=2 event=0 ip=198.41.192.7`
    const retrying = `${TIME} INF Retrying connection in up to 1s connIndex=2 event=0 ip=198.41.192.7`
    const terminated = `${TIME} WRN Connection terminated error="${QUIC_IDLE}" connIndex=2`
    const incident = [accept, retrying, terminated].map((l) => c.classify(l))
    expect(incident.map((e) => [e.kind, e.incidentStart])).toEqual([
      ['quic-timeout', true],
      ['retrying', undefined],
      ['quic-timeout', false],
    ])
    // Only one echo: a second timeout on the connection is a new incident...
    expect(c.classify(terminated).incidentStart).toBe(true)
    // ...and so is the next one after a re-registration.
    c.classify(
      `${TIME} INF Registered tunnel connection connIndex=2 event=0 ip=198.41.192.7 location=ams08 protocol=quic`,
    )
    expect(c.classify(accept).incidentStart).toBe(true)
    // A `Connection terminated` timeout with no incident before it starts one.
    expect(createLineClassifier().classify(terminated).incidentStart).toBe(true)
  })

  it('never throws on non-string input', () => {
    const c = createLineClassifier()
    expect(c.classify(undefined as unknown as string).kind).toBe('other')
  })
})
