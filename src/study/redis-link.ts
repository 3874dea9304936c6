/**
 * The link to the Redis behind a study's queue, shared by the study side (queue.ts) and `convlab worker`.
 * Redis that cannot be reached at the start is one probe and one clear line, never an endless reconnect loop;
 * Redis that goes away later gets a short grace period (a restart) and then the same kind of line, delivered
 * through `lost` so that the caller can stop cleanly.
 */
import type { RedisOptions as QueueConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from './redis-url.js';

/** Redis could not be reached, or went away for longer than the grace period. */
export class RedisUnavailable extends Error {
  override name = 'RedisUnavailable';
}

export interface RedisLink {
  target: RedisTarget;
  /** Connection options for BullMQ's queues, workers and events (each opens its own connections from them). */
  connection: QueueConnectionOptions;
  /** Rejects with RedisUnavailable once a connection has been down for longer than the grace period. */
  lost: Promise<never>;
  /** That error, once it happened (commands failing at the same moment report it instead of their own). */
  lostError?: RedisUnavailable;
  /** Keeps an error event's cause, so that the final message can say why Redis went away. */
  noteError(err: unknown): void;
}

const CONNECT_TIMEOUT_MS = 5_000;
const RETRY_DELAY_MS = 500;
/** How long a connection may stay down (e.g. Redis restarting) before the study or worker gives up. */
export const DEFAULT_GRACE_MS = 10_000;

/** An ioredis or socket error as a few words: "connection refused", "unknown host", … */
export function describeRedisError(err: unknown): string {
  const e = err as { code?: string; message?: string } | undefined;
  switch (e?.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'unknown host';
    case 'ETIMEDOUT': return 'connection timed out';
    case 'ECONNRESET': case 'EPIPE': return 'connection reset';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'host unreachable';
    default: break;
  }
  const message = (e?.message ?? String(err)).split('\n')[0] ?? '';
  if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(message)) return `authentication failed (${message})`;
  if (/connect ETIMEDOUT|timed? ?out/i.test(message)) return 'connection timed out';
  return message;
}

function baseOptions(t: RedisTarget): RedisOptions {
  return {
    host: t.host, port: t.port, db: t.db, username: t.username, password: t.password,
    tls: t.tls ? { servername: t.host } : undefined, connectTimeout: CONNECT_TIMEOUT_MS,
  };
}

/** One connection attempt and a PING; throws RedisUnavailable naming the URL and the cause. */
export async function probeRedis(t: RedisTarget): Promise<void> {
  const client = new Redis({ ...baseOptions(t), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  let cause: unknown;
  client.on('error', (err: unknown) => { cause ??= err; });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new RedisUnavailable(`cannot reach Redis at ${t.display}: ${describeRedisError(cause ?? err)}`);
  } finally {
    client.disconnect();
  }
}

/** Probes Redis, then returns the options BullMQ connects with, which give up after `graceMs` down. */
export async function connectRedis(t: RedisTarget, graceMs = DEFAULT_GRACE_MS): Promise<RedisLink> {
  await probeRedis(t);
  let lastError: unknown;
  let giveUp: (err: RedisUnavailable) => void = () => {};
  const lost = new Promise<never>((_resolve, reject) => {
    giveUp = (err) => {
      link.lostError ??= err;
      reject(err);
    };
  });
  lost.catch(() => {}); // observed by whoever races it; never an unhandled rejection
  const attempts = Math.max(1, Math.ceil(graceMs / RETRY_DELAY_MS));
  const connection: QueueConnectionOptions = {
    ...baseOptions(t),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => {
      if (times <= attempts) return RETRY_DELAY_MS;
      giveUp(new RedisUnavailable(`lost the connection to Redis at ${t.display}: ${lastError === undefined ? 'it went away' : describeRedisError(lastError)} (gave up after ${Math.round(graceMs / 1000)} s)`));
      return null;
    },
  };
  const link: RedisLink = { target: t, connection, lost, noteError: (err) => { lastError = err; } };
  return link;
}

/** Resolves after `ms`, or at once when `promise` settles (used to bound a close() on a dead connection). */
export function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise.then(() => {}, () => {}), new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })])
    .finally(() => clearTimeout(timer));
}
