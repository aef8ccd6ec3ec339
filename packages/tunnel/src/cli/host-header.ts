/**
 * DNS-rebinding protection for the CLI's loopback listener: a web page on a name the attacker
 * controls can make a browser send requests to 127.0.0.1, but its `Host` header still carries
 * the attacker's name. Only loopback names and addresses are served.
 */
const LOOPBACK_HOST = /^(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d{1,5})?$/i

/** Whether a `Host` header names a loopback address (`127.0.0.1:9000`, `localhost`, `[::1]:9000`). */
export function isLoopbackHostHeader(host: string): boolean {
  return LOOPBACK_HOST.test(host)
}
