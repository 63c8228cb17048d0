import os from 'node:os';
import { hostAllowed, normaliseHost, originAllowed, transportAllowlist } from '../../server/mcp/transport-guard';

describe('transport allowlist', () => {
  test('bound to loopback: the bound host and the loopback names, on the bound port only', () => {
    const allow = transportAllowlist({ bindHost: '127.0.0.1', port: 3000, allowedHosts: [], allowedOrigins: [] });
    expect([...allow.hosts].sort()).toEqual(['127.0.0.1:3000', '[::1]:3000', 'localhost:3000']);
    expect(hostAllowed(allow, 'LocalHost:3000')).toBe(true);
    expect(hostAllowed(allow, 'localhost:3001')).toBe(false);
    expect(hostAllowed(allow, 'localhost')).toBe(false);
    expect(hostAllowed(allow, undefined)).toBe(false);
    expect(originAllowed(allow, 'http://localhost:3000')).toBe(true);
    expect(originAllowed(allow, 'https://localhost:3000')).toBe(false);
    expect(originAllowed(allow, undefined)).toBe(true);
    expect(originAllowed(allow, 'null')).toBe(false);
  });

  test('bound to a wildcard: loopback names and every local interface address', () => {
    const allow = transportAllowlist({ bindHost: '0.0.0.0', port: 8080, allowedHosts: [], allowedOrigins: [] });
    const addresses = Object.values(os.networkInterfaces())
      .flat()
      .map((a) => a!.address);
    for (const a of addresses) expect(hostAllowed(allow, `${a.includes(':') ? `[${a}]` : a}:8080`)).toBe(true);
    expect(hostAllowed(allow, 'localhost:8080')).toBe(true);
    expect(hostAllowed(allow, '0.0.0.0:8080')).toBe(false);
    expect(hostAllowed(allow, 'evil.example:8080')).toBe(false);
  });

  test('bound to a public address: that address only; MCP_RESOURCE_URL adds its host and origin', () => {
    const allow = transportAllowlist({ bindHost: '10.0.0.5', port: 3000, allowedHosts: [], allowedOrigins: [], resourceUrl: 'https://mcp.example.com/mcp' });
    expect([...allow.hosts].sort()).toEqual(['10.0.0.5:3000', 'mcp.example.com', 'mcp.example.com:443']);
    expect(hostAllowed(allow, 'localhost:3000')).toBe(false);
    expect(hostAllowed(allow, 'mcp.example.com')).toBe(true);
    expect(hostAllowed(allow, 'mcp.example.com:443')).toBe(true); // the default port spelled out
    expect(hostAllowed(allow, 'mcp.example.com:8443')).toBe(false);
    expect(originAllowed(allow, 'https://mcp.example.com')).toBe(true);
  });

  test('Host values that are not an authority are refused', () => {
    for (const bad of ['', 'a b', 'evil.example@127.0.0.1:3000', '127.0.0.1:3000/x', 'x\\y', '127.0.0.1:99999']) expect(normaliseHost(bad)).toBeUndefined();
    expect(normaliseHost('127.0.0.1:80')).toBe('127.0.0.1');
  });
});
