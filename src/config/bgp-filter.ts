/**
 * Calico's BGPFilter resource read into the rules src/rib/filter.ts runs. Everything Calico's
 * validation or BIRD would refuse is refused here, naming the field: a cidr without matchOperator
 * (confd fails to render it), a prefixLength range that selects nothing (BIRD refuses the whole
 * configuration), a cidr of the other family, operations on a Reject rule.
 */
import { Afi, type LargeCommunity, formatPrefix, parseCommunity, parseLargeCommunity, parsePrefix } from '../bgp/index.js';
import { type BgpFilter, FILTER_ACTIONS, type FilterOperation, type FilterRule, MATCH_OPERATORS, MATCH_SOURCES, PEER_TYPES } from '../rib/filter.js';
import { ConfigError, type Fields, type Json, asNumberValue } from './fields.js';

const LISTS = ['exportV4', 'importV4', 'exportV6', 'importV6'] as const;

export type Community = { readonly standard: number } | { readonly large: LargeCommunity };

/** `spec` of a BGPFilter named `name`; the fields each object may have, and the refusals, are src/config/schema.ts's. */
export function parseBgpFilter(name: string, spec: Fields): BgpFilter {
  const lists = Object.fromEntries(LISTS.map((l) => [l, spec.objects(l).map((r) => rule(r, l.endsWith('V6') ? Afi.Ipv6 : Afi.Ipv4))])) as Record<(typeof LISTS)[number], FilterRule[]>;
  spec.done();
  return { name, ...lists };
}

function rule(r: Fields, afi: Afi): FilterRule {
  const action = r.requiredOneOf('action', FILTER_ACTIONS);
  const out: { -readonly [K in keyof FilterRule]: FilterRule[K] } = { action };
  const maxLength = afi === Afi.Ipv4 ? 32 : 128;
  const family = afi === Afi.Ipv4 ? 'IPv4' : 'IPv6';
  if (r.has('cidr')) {
    out.cidr = r.requiredParsed('cidr', (text) => {
      const cidr = parsePrefix(text);
      if (cidr.afi !== afi) throw new Error(`${text} is not an ${family} prefix, in an ${family} rule list`);
      return cidr;
    });
  }
  const op = r.oneOf('matchOperator', MATCH_OPERATORS);
  if (out.cidr !== undefined && op === undefined) throw r.error('matchOperator', 'is required with cidr');
  if (out.cidr === undefined && op !== undefined) throw r.error('cidr', 'is required with matchOperator');
  if (op !== undefined) out.matchOperator = op;
  if (r.has('prefixLength')) {
    const p = r.object('prefixLength');
    const min = p.integer('min', 0, maxLength);
    const max = p.integer('max', 0, maxLength);
    p.done();
    if (out.cidr === undefined) throw r.error('prefixLength', 'needs a cidr');
    const lo = Math.max(out.cidr.length, min ?? 0);
    const hi = Math.min(maxLength, max ?? maxLength);
    if (lo > hi) throw r.error('prefixLength', `selects no prefix of ${formatPrefix(out.cidr)} (lengths ${lo}..${hi}); BIRD refuses such a range`);
    out.prefixLength = { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
  }
  const source = r.oneOf('source', MATCH_SOURCES);
  if (source !== undefined) out.source = source;
  const iface = r.string('interface');
  if (iface !== undefined) out.interface = iface;
  const peerType = r.oneOf('peerType', PEER_TYPES);
  if (peerType !== undefined) out.peerType = peerType;
  if (r.has('communities')) {
    const c = r.object('communities');
    const values = c.list('values').map((v, i) => community(c, `values[${i}]`, v));
    c.done();
    if (values.length === 0) throw r.error('communities', 'needs a value in values');
    out.communities = values;
  }
  const operations = r.objects('operations');
  if (operations.length > 0 && action === 'Reject') throw r.error('operations', 'only an Accept rule may have operations');
  if (operations.length > 10) throw r.error('operations', `${operations.length} operations; Calico allows at most 10`);
  if (operations.length > 0) out.operations = operations.map(operation);
  r.done();
  return out;
}

function operation(o: Fields): FilterOperation {
  const kinds = ['addCommunity', 'prependASPath'].filter((k) => o.has(k));
  if (kinds.length !== 1) throw new ConfigError(o.document, o.path, 'needs exactly one of addCommunity, prependASPath');
  if (kinds[0] === 'addCommunity') {
    const a = o.object('addCommunity');
    const value = a.requiredString('value');
    a.done();
    o.done();
    return { kind: 'addCommunity', community: community(o, 'addCommunity.value', value) };
  }
  const p = o.object('prependASPath');
  // Calico's []numorstring.ASNumber: asdot as well, as every other AS field.
  const asns = p.list('prefix').map((v, i) => {
    const asn = asNumberValue(v);
    if (asn === undefined) throw p.error(`prefix[${i}]`, `${JSON.stringify(v)} is not a valid AS number`);
    return asn;
  });
  p.done();
  o.done();
  if (asns.length === 0 || asns.length > 10) throw p.error('prefix', `needs 1 to 10 AS numbers, not ${asns.length}`);
  return { kind: 'prependASPath', asns };
}

/** A literal community: standard `aa:nn` or large `aa:nn:mm`. */
function community(f: Fields, field: string, v: Json): Community {
  if (typeof v !== 'string') throw f.error(field, `${JSON.stringify(v)} is not a community (aa:nn or aa:nn:mm)`);
  return f.parsedText(field, v, parseCommunityValue);
}

/** Standard `aa:nn` (or a well-known name) or large `aa:nn:mm`, told apart by their parts, as Calico writes both in one list. */
export function parseCommunityValue(text: string): Community {
  return text.split(':').length === 3 ? { large: parseLargeCommunity(text) } : { standard: parseCommunity(text) };
}
