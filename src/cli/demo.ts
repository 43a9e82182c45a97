/**
 * `kbgp demo`: until the daemon runs (the session issue), the README's first command shows the
 * codec at work: the messages kbgp would exchange, encoded, framed and decoded again.
 */
import {
  Afi,
  CeaseSubcode,
  DEFAULT_CONTEXT,
  Framer,
  type MessageContext,
  MessageType,
  type OpenMessage,
  Safi,
  WellKnownCommunity,
  decodeMessage,
  describeMessage,
  encodeEndOfRib,
  encodeMessage,
  linkBandwidth,
  packAnnouncements,
  parseLargeCommunity,
  parsePrefix,
  shutdownNotification,
} from '../bgp/index.js';

export function demoMessages(): { title: string; bytes: Buffer }[] {
  const open: OpenMessage = {
    type: MessageType.Open,
    version: 4,
    myAs: 23456,
    holdTime: 90,
    bgpIdentifier: '192.0.2.10',
    capabilities: [
      { kind: 'multiprotocol', afi: Afi.Ipv4, safi: Safi.Unicast },
      { kind: 'multiprotocol', afi: Afi.Ipv6, safi: Safi.Unicast },
      { kind: 'route-refresh' },
      { kind: 'enhanced-route-refresh' },
      { kind: 'extended-message' },
      { kind: 'graceful-restart', restarting: false, notification: true, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingState: true }, { afi: 2, safi: 1, forwardingState: true }] },
      { kind: 'four-octet-as', asn: 4200000010 },
      { kind: 'add-path', families: [{ afi: 1, safi: 1, mode: 'both' }, { afi: 2, safi: 1, mode: 'both' }] },
      { kind: 'fqdn', hostname: 'node-a', domain: 'cluster.local' },
    ],
  };
  const ctx: MessageContext = DEFAULT_CONTEXT;
  const attributes = {
    origin: 0 as const,
    asPath: [{ type: 2 as const, asns: [4200000010] }],
    nextHop: '192.0.2.10',
    communities: [WellKnownCommunity.GRACEFUL_SHUTDOWN],
    largeCommunities: [parseLargeCommunity('4200000010:1:2')],
    extendedCommunities: [linkBandwidth(64512, 1.25e9)],
  };
  const v4 = packAnnouncements(Afi.Ipv4, Safi.Unicast, attributes, [parsePrefix('10.96.0.0/12'), parsePrefix('203.0.113.7/32')], ctx);
  const v6 = packAnnouncements(Afi.Ipv6, Safi.Unicast, { ...attributes, nextHop: undefined }, [parsePrefix('fd00:10:96::/112')], ctx, {
    nextHop: '2001:db8::10',
    linkLocalNextHop: 'fe80::10',
  });
  return [
    { title: 'OPEN', bytes: encodeMessage(open) },
    { title: 'KEEPALIVE', bytes: encodeMessage({ type: MessageType.Keepalive }) },
    { title: 'UPDATE, IPv4 service CIDRs', bytes: v4[0] as Buffer },
    { title: 'UPDATE, IPv6 via MP_REACH_NLRI', bytes: v6[0] as Buffer },
    { title: 'End-of-RIB, IPv6 unicast', bytes: encodeEndOfRib(Afi.Ipv6, Safi.Unicast) },
    { title: 'NOTIFICATION', bytes: encodeMessage(shutdownNotification(CeaseSubcode.AdministrativeShutdown, 'node drained for maintenance')) },
  ];
}

export function runDemo(write: (line: string) => void): void {
  const messages = demoMessages();
  const stream = Buffer.concat(messages.map((m) => m.bytes));
  // Cut the stream into 7-octet chunks, as TCP might, to show the framer reassembling it.
  const framer = new Framer();
  const framed: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 7) framed.push(...framer.push(stream.subarray(i, i + 7)));
  write(`kbgp codec demo: ${messages.length} messages, ${stream.length} octets, cut into 7-octet chunks and reassembled\n`);
  framed.forEach((bytes, i) => {
    write(`== ${messages[i]?.title} (${bytes.length} octets)`);
    write(bytes.toString('hex').replace(/(.{64})/g, '$1\n').trim());
    write(JSON.stringify(describeMessage(decodeMessage(bytes)), null, 2));
    write('');
  });
}
