/**
 * Printable forms of decoded messages, for logs, `kbgp decode` and the CLI: prefixes and addresses
 * as text, communities by name, codes with their RFC names. Pure data in, plain JSON-able data out.
 */
import type { PathAttributes } from './attributes.js';
import { describeCapability } from './capabilities.js';
import { formatCommunity, formatExtendedCommunity, formatLargeCommunity } from './communities.js';
import { AsPathSegmentType, attributeName, errorName, familyName, messageTypeName, originName } from './constants.js';
import type { BgpMessage } from './message.js';
import { describeNotification } from './notification.js';
import { openAs } from './open.js';
import { type Prefix, formatPrefix } from './prefix.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function prefixText(p: Prefix): string {
  return p.pathId === undefined ? formatPrefix(p) : `${formatPrefix(p)} path-id ${p.pathId}`;
}

/** `64512 {65001 65002} (65100)`, as BIRD and FRR print paths. */
export function formatAsPath(path: PathAttributes['asPath']): string {
  if (path === undefined) return '';
  return path
    .map((s) => {
      const asns = s.asns.join(' ');
      switch (s.type) {
        case AsPathSegmentType.AsSequence:
          return asns;
        case AsPathSegmentType.AsSet:
          return `{${asns}}`;
        case AsPathSegmentType.AsConfedSequence:
          return `(${asns})`;
        case AsPathSegmentType.AsConfedSet:
          return `[${asns}]`;
      }
    })
    .join(' ');
}

export function describeAttributes(a: PathAttributes): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (a.origin !== undefined) out.origin = originName(a.origin);
  if (a.asPath !== undefined) out.asPath = formatAsPath(a.asPath);
  if (a.nextHop !== undefined) out.nextHop = a.nextHop;
  if (a.med !== undefined) out.med = a.med;
  if (a.localPref !== undefined) out.localPref = a.localPref;
  if (a.atomicAggregate === true) out.atomicAggregate = true;
  if (a.aggregator !== undefined) out.aggregator = `${a.aggregator.asn} ${a.aggregator.address}`;
  if (a.communities !== undefined) out.communities = a.communities.map(formatCommunity);
  if (a.originatorId !== undefined) out.originatorId = a.originatorId;
  if (a.clusterList !== undefined) out.clusterList = [...a.clusterList];
  if (a.extendedCommunities !== undefined) out.extendedCommunities = a.extendedCommunities.map(formatExtendedCommunity);
  if (a.largeCommunities !== undefined) out.largeCommunities = a.largeCommunities.map(formatLargeCommunity);
  if (a.unknown !== undefined) {
    out.unknown = a.unknown.map((u) => `${attributeName(u.type)} flags 0x${u.flags.toString(16)} ${u.value.toString('hex')}`);
  }
  return out;
}

export function describeMessage(m: BgpMessage): { [key: string]: Json } {
  const type = messageTypeName(m.type);
  switch (m.type) {
    case 1:
      return {
        type,
        version: m.version,
        as: openAs(m),
        myAs: m.myAs,
        holdTime: m.holdTime,
        bgpIdentifier: m.bgpIdentifier,
        capabilities: m.capabilities.map(describeCapability),
      };
    case 2: {
      const out: { [key: string]: Json } = { type };
      if (m.endOfRib !== undefined) out.endOfRib = familyName(m.endOfRib.afi, m.endOfRib.safi);
      if (m.withdrawnRoutes.length > 0) out.withdrawnRoutes = m.withdrawnRoutes.map(prefixText);
      const attrs = describeAttributes(m.attributes);
      if (Object.keys(attrs).length > 0) out.attributes = attrs;
      if (m.mpReach !== undefined) {
        out.mpReach = {
          family: familyName(m.mpReach.afi, m.mpReach.safi),
          nextHop: m.mpReach.linkLocalNextHop === undefined ? m.mpReach.nextHop : `${m.mpReach.nextHop} ${m.mpReach.linkLocalNextHop}`,
          nlri: m.mpReach.nlri.map(prefixText),
        };
      }
      if (m.mpUnreach !== undefined) {
        out.mpUnreach = { family: familyName(m.mpUnreach.afi, m.mpUnreach.safi), withdrawnRoutes: m.mpUnreach.withdrawnRoutes.map(prefixText) };
      }
      if (m.nlri.length > 0) out.nlri = m.nlri.map(prefixText);
      if (m.treatAsWithdraw !== undefined) out.treatAsWithdraw = m.treatAsWithdraw.map((p) => p.reason);
      if (m.discarded !== undefined) out.discarded = m.discarded.map((p) => p.reason);
      return out;
    }
    case 3:
      return { type, error: errorName(m.code, m.subcode), text: describeNotification(m), data: m.data.toString('hex') };
    case 4:
      return { type };
    case 5:
      return { type, family: familyName(m.afi, m.safi), subtype: ['request', 'BoRR', 'EoRR'][m.subtype] ?? `subtype ${m.subtype}` };
  }
}
