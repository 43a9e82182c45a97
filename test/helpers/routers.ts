/**
 * Real BGP routers for interop tests: BIRD 2, FRR bgpd, GoBGP and ExaBGP 4, each started from a
 * typed RouterSpec in its own temp directory, listening only on its own address (127/8, ::1, or an
 * address in a test-created network namespace), queried through its own control channel and
 * stopped by PID.
 *
 *   const bird = await startBird({ routerId: '127.0.1.1', asn: 4200000101, address: '127.0.1.1',
 *     peers: [{ address: '127.0.1.2', asn: 4200000102, holdTime: 3 }],
 *     routes: [{ prefix: '10.101.0.0/24', communities: ['65000:1'] }] });
 *   afterEach(stopAllRouters);
 *
 * What each daemon can and cannot do is written at the head of its driver in ./routers/.
 * In short, on Debian 12 (BIRD 2.0.12, FRR 8.4.4, GoBGP 3.10.0, ExaBGP 4.2.21):
 * - `fourOctetAs: false` works on BIRD and ExaBGP only; FRR and GoBGP throw.
 * - routeReflectorClient/clusterId: BIRD, FRR, GoBGP; ExaBGP throws.
 * - ExaBGP keeps no RIB: its routes() are what its peers currently announce to it.
 * - On loopback, give IPv4 routes sent to GoBGP a next hop outside 127/8, and IPv6 routes sent to
 *   BIRD a real IPv6 next hop (RouteSpec.nextHop); BIRD needs one for any IPv6 route it originates
 *   over an IPv4 session. In a test-created network namespace (RouterSpec.netns) with ordinary
 *   addresses the IPv4 default next hops just work. See the drivers for why.
 * - FRR over an IPv4 session: once it has sent a peer one IPv6 route with itself as next hop
 *   (::ffff:<IPv4>, it knows no IPv6 address without zebra), every later IPv6 update to that peer
 *   carries that mapped next hop, explicit ones included.
 * - GoBGP's path identifiers come from its text adj-in view (its JSON lacks them); BIRD 2.0.12
 *   does not show them at all.
 */
export {
  type Family,
  type PeerSpec,
  type RouteSpec,
  type RouterHandle,
  type RouterKind,
  type RouterRoute,
  type RouterSpec,
  type SessionState,
  alive,
  normaliseAddress,
  normalisePrefix,
  startedPids,
  stopAllRouters,
  waitFor,
} from './routers/common.js';
export { parseBirdRoutes, sameBirdMoment, startBird } from './routers/bird.js';
export { frrPath, startFrr } from './routers/frr.js';
export { gobgpPath, startGobgp } from './routers/gobgp.js';
export { replayExabgp, startExabgp } from './routers/exabgp.js';

import type { RouterHandle, RouterKind, RouterSpec } from './routers/common.js';
import { startBird } from './routers/bird.js';
import { startExabgp } from './routers/exabgp.js';
import { startFrr } from './routers/frr.js';
import { startGobgp } from './routers/gobgp.js';

/** Starts a router of the given kind, for tests that run the same scenario against each. */
export function startRouter(kind: RouterKind, spec: RouterSpec): Promise<RouterHandle> {
  switch (kind) {
    case 'bird':
      return startBird(spec);
    case 'frr':
      return startFrr(spec);
    case 'gobgp':
      return startGobgp(spec);
    case 'exabgp':
      return startExabgp(spec);
  }
}

/** The binaries each kind needs, for requireBinaries(). */
export const ROUTER_BINARIES: Record<RouterKind, readonly string[]> = {
  bird: ['bird', 'birdc'],
  frr: ['bgpd', 'vtysh'],
  gobgp: ['gobgpd', 'gobgp'],
  exabgp: ['exabgp', 'python3'],
};
