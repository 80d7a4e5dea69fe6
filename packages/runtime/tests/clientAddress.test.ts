import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, normaliseAddress, parseCidrs, type TrustedProxies } from '../src/http.js';
import { seededNumbers } from './seededNumbers.js';

/**
 * The client address behind proxies: only what trusted proxies appended is believed, read right to left; what the
 * client put on the left of `X-Forwarded-For` never decides the address (budgets, throttles and caps key on it).
 */
function request(peer: string, forwardedFor?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

const trust = (hops: number, cidrs = ''): TrustedProxies => ({ hops, cidrs: parseCidrs(cidrs) });

function randomAddress(next: () => number): string {
  if (next() < 0.3)
    return `2001:db8:${Math.floor(next() * 65535).toString(16)}::${Math.floor(next() * 65535).toString(16)}`;
  // Public-looking: never inside the proxies' 10.0.0.0/8.
  return [11 + Math.floor(next() * 200), ...Array.from({ length: 3 }, () => Math.floor(next() * 256))].join(
    '.',
  );
}

describe('clientAddress', () => {
  it('uses the socket peer when no proxy is trusted, whatever the header says', () => {
    expect(clientAddress(request('203.0.113.9', '1.2.3.4'))).toBe('203.0.113.9');
    expect(clientAddress(request('203.0.113.9', '1.2.3.4'), trust(0))).toBe('203.0.113.9');
  });

  it('takes the right-most untrusted address: forged entries on the left never win (generated chains)', () => {
    const next = seededNumbers(20_240_601);
    for (let round = 0; round < 500; round += 1) {
      const hops = 1 + Math.floor(next() * 3);
      const client = randomAddress(next);
      const forged = Array.from({ length: Math.floor(next() * 5) }, () =>
        next() < 0.2 ? 'not-an-ip' : randomAddress(next),
      );
      // Proxies between the client and the router: each appends the address it saw; the last one is the peer.
      const proxies = Array.from(
        { length: hops },
        () => `10.0.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}`,
      );
      const appended = [client, ...proxies.slice(0, -1)];
      const chain = [...forged, ...appended];
      const peer = proxies.at(-1) as string;
      // One header line, or split across several lines as some proxies do.
      const cut = Math.floor(next() * (chain.length + 1));
      const header =
        next() < 0.5
          ? chain.join(', ')
          : [chain.slice(0, cut).join(','), chain.slice(cut).join(',')].filter((line) => line !== '');
      expect(clientAddress(request(peer, header), trust(hops))).toBe(normaliseAddress(client));
      expect(clientAddress(request(peer, header), trust(0, '10.0.0.0/8'))).toBe(normaliseAddress(client));
    }
  });

  it('keeps TRUST_PROXY=true (one hop) meaning the address the one proxy saw', () => {
    expect(clientAddress(request('10.0.0.1', '6.6.6.6, 198.51.100.7'), trust(1))).toBe('198.51.100.7');
  });

  it('falls back to the left-most address when every entry is trusted', () => {
    expect(clientAddress(request('10.0.0.1', '10.0.0.2, 10.0.0.3'), trust(0, '10.0.0.0/8'))).toBe('10.0.0.2');
    expect(clientAddress(request('10.0.0.1'), trust(2))).toBe('10.0.0.1');
  });

  it('stops at a garbage entry and uses the proxy that reported it', () => {
    expect(clientAddress(request('10.0.0.1', '1.2.3.4, <script>, 10.0.0.9'), trust(0, '10.0.0.0/8'))).toBe(
      '10.0.0.9',
    );
    expect(clientAddress(request('10.0.0.1', 'garbage'), trust(1))).toBe('10.0.0.1');
    expect(clientAddress(request('10.0.0.1', ' , ,198.51.100.7 , '), trust(1))).toBe('198.51.100.7');
  });

  it('matches IPv6 ranges and IPv4-mapped IPv6 peers against IPv4 ranges', () => {
    expect(clientAddress(request('::ffff:10.1.2.3', '198.51.100.7'), trust(0, '10.0.0.0/8'))).toBe(
      '198.51.100.7',
    );
    expect(clientAddress(request('fd00::1', '2001:db8::7, fd00::2'), trust(0, 'fd00::/8'))).toBe(
      '2001:db8::7',
    );
    expect(clientAddress(request('::ffff:203.0.113.5', '1.2.3.4'), trust(0, '10.0.0.0/8'))).toBe(
      '203.0.113.5',
    );
    expect(clientAddress(request('10.0.0.1', '[2001:db8::1]:4711'), trust(1))).toBe('2001:db8::1');
    expect(clientAddress(request('10.0.0.1', '198.51.100.7:4711'), trust(1))).toBe('198.51.100.7');
  });

  it('refuses malformed CIDRs with the entry named', () => {
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.0/8/1', '10.0.0.0/', '1.2.3/8']) {
      expect(() => parseCidrs(bad)).toThrow(bad);
    }
    expect(parseCidrs(' 10.0.0.0/8 , 192.168.1.1, ::1/128 ').check('192.168.1.1', 'ipv4')).toBe(true);
  });
});
