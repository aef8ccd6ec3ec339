/**
 * Causes named in a line's text (DNS failure, authentication failure, QUIC timeout, unreachable
 * origin). One regex pass finds every cause keyword in the lower-cased text; the phrase checks
 * then run only for the keywords found, since a phrase can only occur where its keyword does.
 * Most lines hold no keyword and cost that one pass.
 */

const LOOKUP = 1 << 0
const DNS = 1 << 1
const SRV_RECORD = 1 << 2
const FREE_EDGE = 1 << 3
const EDGE_IPS = 1 << 4
const FETCH_FEATURES = 1 << 5
const UNAUTHORIZED = 1 << 6
const TUNNEL_SECRET = 1 << 7
const HAVE_TUNNEL = 1 << 8
const GET_TUNNEL = 1 << 9
const TOKEN = 1 << 10
const NO_RECENT_NETWORK = 1 << 11
const DID_NOT_COMPLETE = 1 << 12
const IDLE_TIMEOUT = 1 << 13
const ORIGIN_SERVICE = 1 << 14

// The keywords, grouped by first letter (irregexp then tests one character class per position).
// No keyword is a prefix of another, so at most one starts at a given position.
const CAUSE_KEYWORDS =
  /d(?:ns|id not complete)|edge ips|f(?:ree edge|etch features)|get tunnel|have tunnel|idletimeout|lookup|no recent network|origin service|srv record|t(?:oken|unnel secret)|unauthorized/g

/**
 * The keyword of CAUSE_KEYWORDS that ends at `end` of `t`, told apart by its last characters,
 * as its bit times 32 plus its length.
 */
function keywordEndingAt(t: string, end: number): number {
  const before = t.charCodeAt(end - 2)
  switch (t.charCodeAt(end - 1)) {
    case 112: // p
      return LOOKUP * 32 + 6
    case 115: // s: dns, edge ips, fetch features
      return before === 110
        ? DNS * 32 + 3
        : before === 112
          ? EDGE_IPS * 32 + 8
          : FETCH_FEATURES * 32 + 14
    case 100: // d: srv record, unauthorized
      return before === 114 ? SRV_RECORD * 32 + 10 : UNAUTHORIZED * 32 + 12
    case 101: // e: free edge, did not complete, origin service
      return before === 103
        ? FREE_EDGE * 32 + 9
        : before === 116
          ? DID_NOT_COMPLETE * 32 + 16
          : ORIGIN_SERVICE * 32 + 14
    case 116: // t: tunnel secret, idletimeout
      return before === 101 ? TUNNEL_SECRET * 32 + 13 : IDLE_TIMEOUT * 32 + 11
    case 108: // l: have tunnel, get tunnel
      return t.charCodeAt(end - 10) === 97 ? HAVE_TUNNEL * 32 + 11 : GET_TUNNEL * 32 + 10
    case 110: // n
      return TOKEN * 32 + 5
    default: // k
      return NO_RECENT_NETWORK * 32 + 17
  }
}

/**
 * The cause keywords in `t` (lower case), as a bit set; 0 when there are none. Occurrences may
 * overlap (`srv recordid not complete`): the search resumes one character after each match.
 */
export function causeKeywords(t: string): number {
  CAUSE_KEYWORDS.lastIndex = 0
  let bits = 0
  while (CAUSE_KEYWORDS.test(t)) {
    const end = CAUSE_KEYWORDS.lastIndex
    const keyword = keywordEndingAt(t, end)
    bits |= keyword >> 5
    CAUSE_KEYWORDS.lastIndex = end - (keyword & 31) + 1
  }
  return bits
}

/** `t` (lower case, with cause keywords `k`) reports a DNS resolution failure. */
export function hasDnsError(t: string, k: number): boolean {
  if ((k & LOOKUP) !== 0 && t.includes('lookup ')) {
    if (
      t.includes('no such host') ||
      t.includes('timeout') ||
      t.includes('server misbehaving') ||
      t.includes('connection refused') ||
      t.includes('network is unreachable') ||
      t.includes('temporary failure in name resolution') ||
      t.includes('no answer from dns server')
    ) {
      return true
    }
  }
  return (
    ((k & LOOKUP) !== 0 &&
      (t.includes('could not lookup srv records') ||
        t.includes('unable to lookup protocol percentage'))) ||
    ((k & SRV_RECORD) !== 0 && t.includes("couldn't resolve srv record")) ||
    ((k & DNS) !== 0 && (t.includes('the dns query failed') || t.includes('dns local resolver'))) ||
    ((k & FREE_EDGE) !== 0 && t.includes('no free edge addresses left')) ||
    ((k & EDGE_IPS) !== 0 && t.includes('error looking up cloudflare edge ips')) ||
    ((k & FETCH_FEATURES) !== 0 && t.includes('failed to fetch features'))
  )
}

/** `t` (lower case, with cause keywords `k`) reports a QUIC timeout. */
export function isQuicTimeoutText(t: string, k: number): boolean {
  return (
    ((k & NO_RECENT_NETWORK) !== 0 && t.includes('no recent network activity')) ||
    ((k & DID_NOT_COMPLETE) !== 0 && t.includes('handshake did not complete in time')) ||
    ((k & IDLE_TIMEOUT) !== 0 && t.includes('idletimeouterror'))
  )
}

/** `t` (lower case, with cause keywords `k`) reports an authentication failure. */
export function isAuthText(t: string, k: number): boolean {
  return (
    (k & UNAUTHORIZED) !== 0 ||
    ((k & TUNNEL_SECRET) !== 0 && t.includes('invalid tunnel secret')) ||
    ((k & HAVE_TUNNEL) !== 0 && t.includes("account doesn't have tunnel")) ||
    ((k & GET_TUNNEL) !== 0 && t.includes('failed to get tunnel')) ||
    ((k & TOKEN) !== 0 &&
      (t.includes('provided tunnel token is not valid') || t.includes('failed to read token file')))
  )
}

/** `t` (lower case, with cause keywords `k`) says the origin service could not be reached. */
export function isOriginUnreachableText(t: string, k: number): boolean {
  return (k & ORIGIN_SERVICE) !== 0 && t.includes('unable to reach the origin service')
}
