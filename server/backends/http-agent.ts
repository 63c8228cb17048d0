import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';

export interface PoolOptions {
  /** Idle keep-alive sockets kept per host (HTTP_POOL_SIZE). */
  maxFreeSockets: number;
  /** Concurrent sockets per host; requests beyond it queue (HTTP_POOL_MAXSIZE). */
  maxSockets: number;
  /** Time allowed for the TCP connect alone (CONNECT_TIMEOUT, ms). */
  connectTimeoutMs: number;
}

/** The code a socket fails with when the TCP connect does not finish in time. */
export const CONNECT_TIMEOUT_CODE = 'ECONNECTTIMEOUT';

/**
 * A keep-alive agent whose new sockets must finish their TCP connect within
 * `connectTimeoutMs`. axios only has a total timeout; without this a
 * blackholed host would hold a pool slot for the whole HTTP_TIMEOUT. Reused
 * sockets skip the timer: they are already connected.
 */
export function createPooledAgent(url: string, options: PoolOptions): http.Agent {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets,
    maxFreeSockets: options.maxFreeSockets,
    // LIFO keeps the hottest sockets busy and lets the cold ones expire.
    scheduling: 'lifo' as const,
  };
  const agent = url.startsWith('https:') ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const create = agent.createConnection.bind(agent) as (o: http.ClientRequestArgs, cb?: (err: Error | null, s: Duplex) => void) => Duplex | null | undefined;
  agent.createConnection = (connectOptions, callback) => {
    const socket = create(connectOptions, callback);
    if (socket && 'connecting' in socket && (socket as { connecting: boolean }).connecting) {
      armConnectTimer(socket, options.connectTimeoutMs);
    }
    return socket;
  };
  return agent;
}

function armConnectTimer(socket: Duplex, ms: number): void {
  const timer = setTimeout(() => {
    const err = Object.assign(new Error(`connect timeout after ${ms}ms`), { code: CONNECT_TIMEOUT_CODE });
    socket.destroy(err);
  }, ms);
  timer.unref();
  const clear = () => clearTimeout(timer);
  socket.once('connect', clear);
  socket.once('close', clear);
}
