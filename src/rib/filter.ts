/**
 * Calico's BGPFilter (projectcalico.org/v3) as a pure function: the rules a BGPPeer's `filters`
 * name, run on one route going to or coming from that peer. Calico does not evaluate these rules
 * itself: confd renders each filter as a BIRD function and BIRD (Calico's 1.x fork) runs it, so
 * "what Calico does" below is what that BIRD text does. Sources, read at projectcalico/calico
 * 87c15906 and projectcalico/bird 1e2ff99d:
 *
 * Order of evaluation (confd/pkg/backends/calico/bgp_processor.go buildImportFilter,
 * buildExportFilter; confd/pkg/resource/template/template_funcs.go BGPFilterBIRDFuncs,
 * filterStatement):
 * - A peer's filter block calls `'bgp_<name>_importFilterV4'()` (or export, or V6) once per filter
 *   in its `filters` list, in order, and only for filters whose list for that direction and family
 *   is non-empty. Each rule becomes `if (<conditions>) then { <operations> accept|reject; }`, with
 *   no statement after the last rule.
 * - BIRD's `accept`/`reject` end the whole filter even from inside a function (bird
 *   filter/filter.c: FI_PRINT_AND_DIE returns T_RETURN and FI_CALL passes a bare T_RETURN up;
 *   Calico's bird_ipam.cfg.template says so too: "filter code terminates when it calls accept; or
 *   reject;"). So the first matching rule of the first filter that has one decides, Accept as much
 *   as Reject: an Accept in filter 1 does not run filter 2. A filter with no matching rule falls
 *   through to the next.
 * - After the filters, import says `accept;`. Export calls Calico's own
 *   `calico_export_to_bgp_peers(...)` then `reject;`. So on export a rule's Accept skips Calico's own
 *   export policy altogether (IP pools, service routes, BGPConfiguration communities, aggregation),
 *   and only a route no rule matched meets it. Here both cases are `action: 'Accept'`: the result
 *   carries `rule`/`filter` when a rule accepted, and neither when no rule matched, so the caller
 *   can apply kbgp's own export policy to the second kind only.
 * - Calico gives node-to-node mesh peers no filters (processMeshPeers passes nil); only BGPPeer
 *   resources have `filters`.
 *
 * On export, BIRD 1.x runs the protocol's own export step before the filter (bird
 * nest/rt-table.c export_filter_ calls import_control, i.e. proto/bgp/attrs.c bgp_import_control →
 * bgp_update_attrs / bgp_create_attrs, and only then f_run). Towards an eBGP peer the filter
 * therefore sees an AS_PATH that already starts with this node's AS, and `prependASPath` puts its
 * ASes in front of it. To match, give this function the attributes exportRoute produced; a route
 * exportRoute refuses never reaches a filter.
 *
 * Matching (template_funcs.go; all conditions given must hold, `&&`):
 * - `cidr` + `matchOperator` (filterMatchCIDR): `net ~ cidr` (In), `net !~` (NotIn), `net =`
 *   (Equal), `net !=` (NotEqual). In is bird lib/ip.h net_in_net: at least as long as cidr and
 *   inside it, so a shorter prefix covering cidr is not In.
 * - `prefixLength` (filterMatchPrefixLength) turns the right-hand side into the prefix set
 *   `[ cidr{lo,hi} ]` with lo = max(cidr length, min) and hi = min(32 or 128, max), each defaulting
 *   to the bound alone. For In/NotIn that is "inside cidr with lo <= length <= hi" (bird
 *   filter/trie.c). For Equal/NotEqual, BIRD compares a prefix with a prefix set: different types,
 *   so val_same is 0 (filter/filter.c). Equal with prefixLength never matches and NotEqual with
 *   prefixLength always matches. Calico renders this and its own test expects
 *   `net != [ 7000:1::0/64{64,96} ]` (template_funcs_test.go). If lo > hi, BIRD refuses the whole
 *   configuration ("Invalid prefix pattern range", filter/config.Y) and Calico's validator does not
 *   catch it. Here that set is empty, but the config parser should refuse such a rule.
 * - A cidr without matchOperator makes Calico's template fail ("operator not included in
 *   BGPFilter"), so no configuration at all. The config parser must refuse it. If one gets here,
 *   it never matches. A cidr of the other family (impossible in Calico: v4 rules only go to bird.cfg)
 *   is neither In nor Equal.
 * - `source: RemotePeers` (filterMatchSource): `source ~ [ RTS_BGP ]`, a route learned from a BGP
 *   peer rather than originated here. Every imported route is one.
 * - `interface` (filterMatchInterface): `defined(ifname) && ifname ~ "<glob>"`. `ifname` is always
 *   defined, and it is "" for a route with no interface (filter.c SA_IFNAME). kbgp's routes have no
 *   interface, so the glob is matched against "" by BIRD's patmatch (lib/patmatch.c). Only "*"
 *   matches that. "eth*", and even "**", never do. In Calico, routes learned over BGP get an
 *   interface through next-hop resolution, so "eth0" can match there but never here.
 * - `peerType` (BGPFilterBIRDFuncs, `if (is_same_as)` / `if (!is_same_as)`): is_same_as is the
 *   peer's AS equal to the node's effective AS (its per-peer localASNumber if set), which is the
 *   session type.
 * - `communities` (filterMatchCommunity): `(a, b) ~ bgp_community` or `(a, b, c) ~
 *   bgp_large_community`. Calico allows exactly one value (MaxItems=1). This type allows several,
 *   and any one of them matches.
 * - Not modelled (not in these types): `asPathPrefix` (`bgp_path ~ [= a b * =]`), `priority`
 *   (`bgp_local_pref = 2^31-1 - priority`) and the `setPriority` operation.
 *
 * Operations, only on Accept (the CRD refuses them on Reject), in order (filterOperationStatements):
 * - `addCommunity`: `bgp_community.add(...)` / `bgp_large_community.add(...)`. Bird's
 *   int_set_add / lc_set_add (nest/a-set.c) append at the end and do nothing if the value is there.
 * - `prependASPath [a, b]`: `bgp_path.prepend(b); bgp_path.prepend(a);`, one AS at a time, so the
 *   path starts "a b". Each prepend is bird's as_path_prepend (nest/a-path.c): into the first
 *   segment if it is an AS_SEQUENCE with fewer than 255 ASes, otherwise a new AS_SEQUENCE in front.
 */
import { Afi, type AsPathSegment, type LargeCommunity, type PathAttributes, type Prefix, prefixCovers, prependAsPath } from '../bgp/index.js';

// Calico's words for the BGPFilter vocabulary; the configuration schema accepts exactly these lists.
export const FILTER_ACTIONS = ['Accept', 'Reject'] as const;
export const MATCH_OPERATORS = ['In', 'NotIn', 'Equal', 'NotEqual'] as const;
export const MATCH_SOURCES = ['RemotePeers'] as const;
export const PEER_TYPES = ['eBGP', 'iBGP'] as const;
export type FilterAction = (typeof FILTER_ACTIONS)[number];
export type MatchOperator = (typeof MATCH_OPERATORS)[number];
export type PeerType = (typeof PEER_TYPES)[number];
export type FilterOperation =
  | { readonly kind: 'addCommunity'; readonly community: { readonly standard: number } | { readonly large: LargeCommunity } }
  | { readonly kind: 'prependASPath'; readonly asns: readonly number[] };
export interface FilterRule {
  readonly cidr?: Prefix;
  /** Required with cidr. */
  readonly matchOperator?: MatchOperator;
  readonly prefixLength?: { readonly min?: number; readonly max?: number };
  readonly source?: (typeof MATCH_SOURCES)[number];
  /** Glob on the route's interface; kbgp's routes have none (see below). */
  readonly interface?: string;
  readonly peerType?: PeerType;
  /** Any of these (standard or large). */
  readonly communities?: readonly ({ readonly standard: number } | { readonly large: LargeCommunity })[];
  readonly action: FilterAction;
  readonly operations?: readonly FilterOperation[];
}
export interface BgpFilter {
  readonly name: string;
  readonly exportV4: readonly FilterRule[];
  readonly importV4: readonly FilterRule[];
  readonly exportV6: readonly FilterRule[];
  readonly importV6: readonly FilterRule[];
}
/** What a rule may look at besides the route itself. */
export interface FilterContext {
  readonly direction: 'import' | 'export';
  /** The peer the route comes from (import) or goes to (export): eBGP or iBGP. */
  readonly peerType: PeerType;
}
export type FilterResult =
  | {
      readonly action: 'Accept';
      readonly attributes: PathAttributes;
      /** the rule that matched, index in its list, or undefined for none */
      readonly rule?: number;
      readonly filter?: string;
    }
  | { readonly action: 'Reject'; readonly rule: number; readonly filter: string };

/** The interface name BIRD's filter sees for a route without one (`ifname` is "", not undefined). */
const NO_INTERFACE = '';

/** BIRD's shell-style glob (lib/patmatch.c), quirks included: `*x` looks ahead for a literal x. */
function patmatch(p: string, s: string): boolean {
  let i = 0;
  let j = 0;
  while (i < p.length) {
    if (p[i] === '?' && j < s.length) {
      i++;
      j++;
    } else if (p[i] === '*') {
      if (i + 1 === p.length) return true;
      const z = p[i + 1] === '\\' && i + 2 < p.length ? p[i + 2] : p[i + 1];
      for (;;) {
        while (j < s.length && s[j] !== z) j++;
        if (j === s.length) return false;
        if (patmatch(p.slice(i + 1), s.slice(j))) return true;
        j++;
      }
    } else {
      if (p[i] === '\\' && i + 1 < p.length) i++;
      if (j >= s.length || p[i] !== s[j]) return false;
      i++;
      j++;
    }
  }
  return j === s.length;
}

/** BIRD `net ~ cidr`: as long as cidr or longer, and inside it. */
const inside = (net: Prefix, cidr: Prefix): boolean => prefixCovers(cidr, net);

/** BIRD `net = cidr`. */
function equal(net: Prefix, cidr: Prefix): boolean {
  return net.length === cidr.length && prefixCovers(cidr, net);
}

function cidrMatches(rule: FilterRule, cidr: Prefix, net: Prefix): boolean {
  const op = rule.matchOperator;
  if (op === undefined) return false;
  const range = rule.prefixLength;
  if (range === undefined) {
    switch (op) {
      case 'In':
        return inside(net, cidr);
      case 'NotIn':
        return !inside(net, cidr);
      case 'Equal':
        return equal(net, cidr);
      case 'NotEqual':
        return !equal(net, cidr);
    }
  }
  // `net <op> [ cidr{lo,hi} ]`, bounds clamped as filterMatchPrefixLength does.
  const familyMax = cidr.afi === Afi.Ipv4 ? 32 : 128;
  const lo = Math.max(cidr.length, range.min ?? cidr.length);
  const hi = Math.min(familyMax, range.max ?? familyMax);
  const inSet = inside(net, cidr) && net.length >= lo && net.length <= hi;
  switch (op) {
    case 'In':
      return inSet;
    case 'NotIn':
      return !inSet;
    // A prefix is never the same value as a prefix set (val_same across types).
    case 'Equal':
      return false;
    case 'NotEqual':
      return true;
  }
}

type CommunityValue = { readonly standard: number } | { readonly large: LargeCommunity };

const sameLarge = (a: LargeCommunity, b: LargeCommunity): boolean =>
  a.globalAdmin === b.globalAdmin && a.localData1 === b.localData1 && a.localData2 === b.localData2;

function carries(a: PathAttributes, c: CommunityValue): boolean {
  if ('standard' in c) return (a.communities ?? []).includes(c.standard);
  return (a.largeCommunities ?? []).some((x) => sameLarge(x, c.large));
}

function ruleMatches(rule: FilterRule, net: Prefix, route: { readonly attributes: PathAttributes; readonly local: boolean }, ctx: FilterContext): boolean {
  if (rule.cidr !== undefined && !cidrMatches(rule, rule.cidr, net)) return false;
  if (rule.source === 'RemotePeers' && route.local) return false;
  if (rule.interface !== undefined && !patmatch(rule.interface, NO_INTERFACE)) return false;
  if (rule.peerType !== undefined && rule.peerType !== ctx.peerType) return false;
  if (rule.communities !== undefined && !rule.communities.some((c) => carries(route.attributes, c))) return false;
  return true;
}

function applyOperation(a: PathAttributes, op: FilterOperation): PathAttributes {
  if (op.kind === 'prependASPath') {
    let path: readonly AsPathSegment[] = a.asPath ?? [];
    // One AS at a time from the last, as Calico renders it, so the path starts with asns[0].
    for (let k = op.asns.length - 1; k >= 0; k--) path = prependAsPath(path, op.asns[k] as number);
    return { ...a, asPath: path };
  }
  const c = op.community;
  if (carries(a, c)) return a;
  if ('standard' in c) return { ...a, communities: [...(a.communities ?? []), c.standard] };
  return { ...a, largeCommunities: [...(a.largeCommunities ?? []), c.large] };
}

function rulesFor(f: BgpFilter, v6: boolean, ctx: FilterContext): readonly FilterRule[] {
  if (ctx.direction === 'import') return v6 ? f.importV6 : f.importV4;
  return v6 ? f.exportV6 : f.exportV4;
}

/**
 * Runs the BGPPeer's filters in order (its `filters` list): within a filter, the list for the
 * direction and the route's family; first matching rule wins; a filter with no matching rule
 * passes the route on to the next filter; after all filters, accept. A matching rule ends the
 * evaluation whether it accepts or rejects (see the header: BIRD's accept/reject end the whole
 * filter). The input attributes are never modified.
 */
export function applyFilters(
  filters: readonly BgpFilter[],
  prefix: Prefix,
  route: { readonly attributes: PathAttributes; readonly local: boolean },
  ctx: FilterContext,
): FilterResult {
  const v6 = prefix.afi === Afi.Ipv6;
  for (const f of filters) {
    const rules = rulesFor(f, v6, ctx);
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as FilterRule;
      if (!ruleMatches(rule, prefix, route, ctx)) continue;
      if (rule.action === 'Reject') return { action: 'Reject', rule: i, filter: f.name };
      const attributes = (rule.operations ?? []).reduce(applyOperation, route.attributes);
      return { action: 'Accept', attributes, rule: i, filter: f.name };
    }
  }
  return { action: 'Accept', attributes: route.attributes };
}
