import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, packAnnouncements, parsePrefix, formatPrefix, Afi, Safi, DEFAULT_CONTEXT, MessageType } from '../../src/bgp/index.js';

describe('smoke', () => {
  it('round trips', () => {
    const open = { type: MessageType.Open, version: 4, myAs: 64512, holdTime: 90, bgpIdentifier: '10.0.0.1', capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'four-octet-as', asn: 4200000000 }] } as const;
    const b = encodeMessage(open);
    expect(decodeMessage(b)).toEqual(open);
    const ps = Array.from({ length: 2000 }, (_, i) => parsePrefix(`10.${i >> 8}.${i & 255}.0/24`));
    const msgs = packAnnouncements(Afi.Ipv4, Safi.Unicast, { origin: 0, asPath: [{ type: 2, asns: [64512] }], nextHop: '192.0.2.1' }, ps, DEFAULT_CONTEXT);
    const back = msgs.flatMap((m) => (decodeMessage(m) as any).nlri.map(formatPrefix));
    expect(back).toEqual(ps.map(formatPrefix));
    const v6 = Array.from({ length: 700 }, (_, i) => parsePrefix(`2001:db8:${i.toString(16)}::/64`));
    const m6 = packAnnouncements(Afi.Ipv6, Safi.Unicast, { origin: 0, asPath: [] }, v6, DEFAULT_CONTEXT, { nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' });
    const back6 = m6.flatMap((m) => (decodeMessage(m) as any).mpReach.nlri.map(formatPrefix));
    expect(back6).toEqual(v6.map(formatPrefix));
    console.log(msgs.length, m6.length, m6.map((m) => m.length));
  });
});
