/**
 * What one peer sent, as it sent it (RFC 4271 §3.2 Adj-RIB-In): applied UPDATE by UPDATE,
 * including RFC 7606 treat-as-withdraw. Keyed by prefix and ADD-PATH path identifier.
 */
import { type PathAttributes, type Prefix, type UpdateMessage, formatPrefix } from '../bgp/index.js';

export interface ReceivedRoute {
  readonly prefix: Prefix;
  readonly attributes: PathAttributes;
  /** NEXT_HOP for IPv4 NLRI, the MP_REACH_NLRI next hop otherwise. */
  readonly nextHop: string;
  readonly linkLocalNextHop?: string;
}

export interface ApplyResult {
  readonly announced: number;
  readonly withdrawn: number;
}

function key(p: Prefix): string {
  return p.pathId === undefined ? formatPrefix(p) : `${formatPrefix(p)}#${p.pathId}`;
}

export class AdjRibIn {
  private readonly table = new Map<string, ReceivedRoute>();

  get size(): number {
    return this.table.size;
  }

  apply(u: UpdateMessage): ApplyResult {
    let withdrawn = 0;
    const remove = (p: Prefix): void => {
      if (this.table.delete(key(p))) withdrawn++;
    };
    u.withdrawnRoutes.forEach(remove);
    u.mpUnreach?.withdrawnRoutes.forEach(remove);
    if (u.treatAsWithdraw !== undefined) {
      // RFC 7606 §2: the routes of an UPDATE with a malformed attribute are handled as withdrawn.
      u.nlri.forEach(remove);
      u.mpReach?.nlri.forEach(remove);
      return { announced: 0, withdrawn };
    }
    let announced = 0;
    const nextHop = u.attributes.nextHop;
    if (nextHop !== undefined) {
      for (const prefix of u.nlri) {
        this.table.set(key(prefix), { prefix, attributes: u.attributes, nextHop });
        announced++;
      }
    }
    const mp = u.mpReach;
    if (mp !== undefined) {
      const hop = mp.linkLocalNextHop === undefined ? { nextHop: mp.nextHop } : { nextHop: mp.nextHop, linkLocalNextHop: mp.linkLocalNextHop };
      for (const prefix of mp.nlri) {
        this.table.set(key(prefix), { prefix, attributes: u.attributes, ...hop });
        announced++;
      }
    }
    return { announced, withdrawn };
  }

  routes(): ReceivedRoute[] {
    return [...this.table.values()];
  }

  clear(): void {
    this.table.clear();
  }
}
