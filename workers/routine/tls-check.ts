import tls from 'node:tls';
import type { TlsEndpoint } from '../../lib/ops-config-routine';

/**
 * Reads an endpoint's certificate with a real TLS handshake. The certificate
 * is read even when it does not verify (self-signed, expired): what matters
 * here is when it expires; whether it verifies is reported alongside.
 */
export interface CertificateStatus {
  endpoint: TlsEndpoint;
  ok: boolean;
  /** Set when the handshake failed. */
  error?: string;
  subject?: string;
  issuer?: string;
  validTo?: string;
  daysLeft?: number;
  fingerprint256?: string;
  /** Whether the chain verified against the system's CAs, and why not. */
  authorized?: boolean;
  authorizationError?: string;
}

const DAY_MS = 86_400_000;

export function checkCertificate(endpoint: TlsEndpoint, options: { timeoutMs?: number; now?: Date } = {}): Promise<CertificateStatus> {
  const now = options.now ?? new Date();
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: CertificateStatus) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(status);
    };
    const servername = endpoint.servername ?? (/^[\d.:]+$/.test(endpoint.host) ? undefined : endpoint.host);
    const socket = tls.connect({ host: endpoint.host, port: endpoint.port, servername, rejectUnauthorized: false, timeout: options.timeoutMs ?? 10_000 }, () => {
      const cert = socket.getPeerCertificate();
      if (!cert || !cert.valid_to) return done({ endpoint, ok: false, error: 'no certificate presented' });
      const validTo = new Date(cert.valid_to);
      done({
        endpoint,
        ok: true,
        subject: cert.subject?.CN ? String(cert.subject.CN) : undefined,
        issuer: cert.issuer?.CN ? String(cert.issuer.CN) : undefined,
        validTo: validTo.toISOString(),
        daysLeft: (validTo.getTime() - now.getTime()) / DAY_MS,
        fingerprint256: cert.fingerprint256,
        authorized: socket.authorized,
        authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
      });
    });
    socket.on('timeout', () => done({ endpoint, ok: false, error: 'TLS handshake timed out' }));
    socket.on('error', (err) => done({ endpoint, ok: false, error: err.message }));
  });
}

/** The tightest warning threshold (days) the certificate is inside of, if any; 0 once expired. */
export function warningThreshold(daysLeft: number, warnDays: readonly number[]): number | undefined {
  if (daysLeft <= 0) return 0;
  const inside = warnDays.filter((d) => daysLeft <= d);
  return inside.length ? Math.min(...inside) : undefined;
}
