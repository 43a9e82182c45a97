import { describe, expect, it } from 'vitest';
import { type Capability, IPV4_UNICAST, IPV6_UNICAST, type OpenMessage, decodeMessage, familyKey } from '../../src/bgp/index.js';
import { type LocalCapabilities, buildOpen, negotiate, receiveContext, sendContext } from '../../src/fsm/negotiate.js';
import { loadVector } from '../helpers/bytes.js';

const v4 = { afi: 1, safi: 1 };
const v6 = { afi: 2, safi: 1 };

function open(caps: Capability[], holdTime = 90, asn = 65001): OpenMessage {
  return { type: 1, version: 4, myAs: asn > 0xffff ? 23456 : asn, holdTime, bgpIdentifier: '192.0.2.2', capabilities: caps };
}

const ours: LocalCapabilities = {
  families: [v4, v6],
  enhancedRouteRefresh: true,
  extendedMessage: true,
  addPath: new Map([
    [IPV4_UNICAST, 'both'],
    [IPV6_UNICAST, 'send'],
  ]),
  gracefulRestart: { restartTime: 120, restarting: false, notification: true, forwardingState: true },
  extendedNextHop: [v4],
};
const local = buildOpen(4200000001, '192.0.2.1', 240, ours);

describe('negotiate', () => {
  it('uses the families both sides announced', () => {
    const n = negotiate(local, open([{ kind: 'multiprotocol', ...v6 }, { kind: 'multiprotocol', afi: 25, safi: 70 }]));
    expect([...n.families]).toEqual([IPV6_UNICAST]);
  });

  it('takes a peer without Multiprotocol capabilities as IPv4 unicast only (RFC 4760)', () => {
    expect([...negotiate(local, open([])).families]).toEqual([IPV4_UNICAST]);
  });

  it.each([
    [240, 90, undefined, 90, 30],
    [90, 240, undefined, 90, 30],
    [240, 0, undefined, 0, 0],
    [240, 3, undefined, 3, 1],
    [240, 240, 20, 240, 20],
    [240, 30, 20, 30, 10],
  ])('hold %i vs %i with keepaliveTime %s gives hold %i keepalive %i', (ourHold, theirHold, keepaliveTime, hold, keepalive) => {
    const n = negotiate(buildOpen(64512, '192.0.2.1', ourHold, ours), open([], theirHold), keepaliveTime === undefined ? {} : { keepaliveTime });
    expect([n.holdTime, n.keepaliveTime]).toEqual([hold, keepalive]);
  });

  it.each([
    ['peer receives v4 and v6', [{ ...v4, mode: 'receive' }, { ...v6, mode: 'receive' }], [], [IPV4_UNICAST, IPV6_UNICAST]],
    ['peer sends v4 and v6', [{ ...v4, mode: 'send' }, { ...v6, mode: 'send' }], [IPV4_UNICAST], []],
    ['peer does both', [{ ...v4, mode: 'both' }, { ...v6, mode: 'both' }], [IPV4_UNICAST], [IPV4_UNICAST, IPV6_UNICAST]],
  ] as const)('ADD-PATH: %s', (_name, families, receive, sendTo) => {
    const n = negotiate(local, open([{ kind: 'multiprotocol', ...v4 }, { kind: 'multiprotocol', ...v6 }, { kind: 'add-path', families: [...families] }]));
    expect([...n.addPathReceive]).toEqual(receive);
    expect([...n.addPathSend]).toEqual(sendTo);
    expect(receiveContext(n, false).addPath).toBe(n.addPathReceive);
    expect(sendContext(n, false).addPath).toBe(n.addPathSend);
  });

  it('needs the 4-octet AS capability on both sides', () => {
    expect(negotiate(local, open([{ kind: 'four-octet-as', asn: 65001 }])).fourOctetAs).toBe(true);
    expect(negotiate(local, open([])).fourOctetAs).toBe(false);
    expect(negotiate(local, open([{ kind: 'four-octet-as', asn: 4200000002 }], 90, 4200000002)).peerAs).toBe(4200000002);
  });

  it('negotiates graceful restart with the N bit only when both sides set it', () => {
    const gr = (notification: boolean): Capability => ({ kind: 'graceful-restart', restarting: true, notification, restartTime: 90, families: [{ ...v4, forwardingState: true }] });
    const withN = negotiate(local, open([{ kind: 'multiprotocol', ...v4 }, gr(true)]));
    expect(withN.gracefulRestart).toEqual({ restartTime: 90, restarting: true, notification: true, forwardingState: new Set([IPV4_UNICAST]), families: new Set([IPV4_UNICAST]) });
    expect(negotiate(local, open([gr(false)])).gracefulRestart?.notification).toBe(false);
    expect(negotiate(local, open([])).gracefulRestart).toBeUndefined();
  });

  it('counts the Cisco route refresh code 128 as route refresh', () => {
    expect(negotiate(local, open([{ kind: 'unknown', code: 128, value: Buffer.alloc(0) }])).routeRefresh).toBe(true);
    expect(negotiate(local, open([{ kind: 'route-refresh' }])).routeRefresh).toBe(true);
    expect(negotiate(local, open([])).routeRefresh).toBe(false);
  });

  it('agrees on extended next hop and extended messages only where both offered them', () => {
    const n = negotiate(local, open([{ kind: 'extended-next-hop', entries: [{ ...v4, nextHopAfi: 2 }, { afi: 1, safi: 2, nextHopAfi: 2 }] }, { kind: 'extended-message' }]));
    expect([...n.extendedNextHop]).toEqual([familyKey(1, 1)]);
    expect(n.extendedMessage).toBe(true);
    expect(receiveContext(n, false).maxMessageLength).toBe(65535);
    expect(negotiate(local, open([])).extendedMessage).toBe(false);
  });

  it('negotiates with the real OPENs of FRR, BIRD and GoBGP', () => {
    const frr = decodeMessage(loadVector('open-frr8.hex'));
    const bird = decodeMessage(loadVector('open-bird2.hex'));
    const gobgp = decodeMessage(loadVector('open-gobgp3.hex'));
    if (frr.type !== 1 || bird.type !== 1 || gobgp.type !== 1) throw new Error('vectors are not OPENs');
    const withFrr = negotiate(local, frr);
    expect(withFrr.peerAs).toBe(4200000003);
    expect(withFrr.peerHostname).toMatch(/\S/);
    expect(withFrr.routeRefresh && withFrr.enhancedRouteRefresh && withFrr.fourOctetAs).toBe(true);
    expect([...withFrr.families].sort()).toEqual([IPV4_UNICAST, IPV6_UNICAST].sort());
    expect(negotiate(local, bird).peerAs).toBe(4200000002);
    expect(negotiate(local, gobgp).gracefulRestart?.notification).toBe(true);
  });
});
