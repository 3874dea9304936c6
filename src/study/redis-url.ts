/**
 * The `--queue` flag's Redis URL, checked before anything connects (and before BullMQ is even loaded, so a
 * study without `--queue` never needs it): redis://[user:password@]host[:port][/db], or rediss:// for TLS.
 */

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** The URL without its password, for messages: "redis://127.0.0.1:6379". */
  display: string;
}

export const DEFAULT_REDIS_PORT = 6379;

/** A malformed `--queue` value; the CLI prints its message as the one line the user sees. */
export class RedisUrlError extends Error {
  override name = 'RedisUrlError';
}

export function parseRedisUrl(text: string, flag = '--queue'): RedisTarget {
  const bad = (why: string): RedisUrlError =>
    new RedisUrlError(`${flag} '${text}' is invalid: ${why}; expected redis://HOST:PORT (or rediss:// for TLS), e.g. redis://127.0.0.1:6379`);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw bad('not a URL');
  }
  const tls = url.protocol === 'rediss:';
  if (url.protocol !== 'redis:' && !tls) throw bad(`the scheme must be redis:// or rediss://, not ${url.protocol}//`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw bad('no host');
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${url.port} is out of range`);
  const path = url.pathname.replace(/^\//, '');
  if (!/^\d*$/.test(path)) throw bad(`the path must be a database number, not '${path}'`);
  if (url.search !== '' || url.hash !== '') throw bad('query strings and fragments are not supported');
  const db = path === '' ? 0 : Number(path);
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const password = url.password === '' ? undefined : decodeURIComponent(url.password);
  const display = `${url.protocol}//${url.hostname}:${port}${db !== 0 ? `/${db}` : ''}`;
  return { host, port, db, username, password, tls, display };
}
