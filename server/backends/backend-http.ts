import { Axios, type AxiosRequestHeaders } from 'axios';
import type http from 'node:http';

export interface BackendHttpOptions {
  baseUrl: string;
  /** Whole-call timeout in ms (HTTP_TIMEOUT). */
  timeoutMs: number;
  /** The pooled keep-alive agent (createPooledAgent). */
  agent: http.Agent;
}

/** Backends answer small JSON; cap what a broken one can make us buffer or send. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * An axios instance with only the settings a backend call needs.
 *
 * Built with `new Axios(config)` rather than `axios.create(config)`: create()
 * merges our config into axios's global defaults (header buckets for every
 * method, env classes, the adapter list, both transformer chains), and every
 * request then deep-merges all of that again. Measured on this machine: the
 * lean instance saves ~40 µs of CPU per call, most of it in mergeConfig. What
 * each setting is for:
 *  - adapter "http": Node's http module, no adapter probing per call;
 *  - proxy false: these are internal services; an HTTP(S)_PROXY in the
 *    environment must not reroute them (and looking it up costs per call);
 *  - maxRedirects 0: a backend never redirects us; with 0 axios uses plain
 *    http instead of follow-redirects;
 *  - Accept-Encoding identity: small JSON on a LAN gains nothing from
 *    compression; `decompress` stays on, so an encoded answer still reads;
 *  - our own JSON transformers: one JSON.parse per response, no
 *    content-type sniffing; an unparsable body stays a string, which the
 *    caller's schema then refuses as a bad response;
 *  - no interceptors.
 */
export type BackendHttp = InstanceType<typeof Axios>;

export function createBackendHttp(options: BackendHttpOptions): BackendHttp {
  return new Axios({
    adapter: 'http',
    baseURL: options.baseUrl,
    // Request URLs are always paths built by us; never let one replace the base.
    allowAbsoluteUrls: false,
    timeout: options.timeoutMs,
    httpAgent: options.agent,
    httpsAgent: options.agent,
    proxy: false,
    maxRedirects: 0,
    maxContentLength: MAX_RESPONSE_BYTES,
    maxBodyLength: MAX_REQUEST_BYTES,
    decompress: true,
    headers: { Accept: 'application/json', 'Accept-Encoding': 'identity' },
    transformRequest: [jsonRequest],
    transformResponse: [jsonResponse],
    validateStatus: (status) => status >= 200 && status < 300,
    // No `transitional` block: axios validates one on every request. A timeout
    // is therefore ECONNABORTED, which backend-errors.ts reads as a timeout.
  });
}

function jsonRequest(data: unknown, headers: AxiosRequestHeaders): unknown {
  if (data === undefined || data === null) return undefined;
  if (typeof data === 'string') return data;
  headers.setContentType('application/json');
  return JSON.stringify(data);
}

function jsonResponse(data: unknown): unknown {
  if (typeof data !== 'string' || data === '') return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
