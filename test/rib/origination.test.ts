/**
 * What the RIB is given for an originated prefix: its own communities, then those of every
 * prefixAdvertisements entry whose cidr covers it (Calico's `net ~ cidr`).
 */
import { describe, expect, it } from 'vitest';
import { type Prefix, parsePrefix, prefixCovers } from '../../src/bgp/index.js';
import { type PrefixAdvertisement, localRoute } from '../../src/rib/origination.js';

const p = (s: string): Prefix => parsePrefix(s);

describe('prefixCovers', () => {
  it.each([
    ['10.96.0.0/12', '10.96.0.0/12', true],
    ['10.96.0.0/12', '10.100.1.7/32', true],
    ['10.96.0.0/12', '10.112.0.0/12', false],
    ['10.96.0.0/12', '10.0.0.0/8', false],
    ['0.0.0.0/0', '192.0.2.0/24', true],
    ['2001:db8::/32', '2001:db8:96::1/128', true],
    ['2001:db8::/33', '2001:db8:8000::/48', false],
    ['2001:db8::/32', '10.0.0.0/8', false],
  ])('%s covers %s: %s', (outer, inner, want) => {
    expect(prefixCovers(p(outer), p(inner))).toBe(want);
  });
});

describe('localRoute', () => {
  const ads: PrefixAdvertisement[] = [
    { cidr: p('10.96.0.0/12'), communities: [100, 7], largeCommunities: [] },
    { cidr: p('10.96.0.0/16'), communities: [7, 8], largeCommunities: [{ globalAdmin: 1, localData1: 2, localData2: 3 }] },
    { cidr: p('203.0.113.0/24'), communities: [9], largeCommunities: [] },
  ];

  it('adds the communities of every covering entry, in order, after the route\'s own, once each', () => {
    const r = localRoute({ prefix: p('10.96.0.10/32'), communities: [7, 1], largeCommunities: [{ globalAdmin: 1, localData1: 2, localData2: 3 }] }, ads);
    expect(r.attributes).toEqual({ origin: 0, asPath: [], communities: [7, 1, 100, 8], largeCommunities: [{ globalAdmin: 1, localData1: 2, localData2: 3 }] });
  });

  it('adds nothing where no entry covers the prefix, and no empty attributes', () => {
    expect(localRoute({ prefix: p('10.112.0.0/12'), communities: [], largeCommunities: [] }, ads).attributes).toEqual({ origin: 0, asPath: [] });
  });
});
