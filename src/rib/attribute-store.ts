/**
 * Interned path attributes (BIRD's attribute cache): every distinct attribute set exists once, so a
 * million routes from one UPDATE stream share a handful of objects, and "same attributes" is an
 * identity check (`a === b`) when packing UPDATEs. Reference counts let unused sets go.
 *
 * The key is the canonical wire encoding of the set (4-octet AS numbers), computed once per
 * received UPDATE, never per prefix.
 */
import { type PathAttributes, Writer, encodePathAttributes } from '../bgp/index.js';

interface Entry {
  readonly attributes: PathAttributes;
  refs: number;
}

export class AttributeStore {
  private readonly byKey = new Map<string, Entry>();
  private readonly byObject = new Map<PathAttributes, string>();

  get size(): number {
    return this.byKey.size;
  }

  /** The shared instance equal to `attributes`, with one more reference taken. */
  intern(attributes: PathAttributes): PathAttributes {
    const known = this.byObject.get(attributes);
    const key = known ?? keyOf(attributes);
    const entry = this.byKey.get(key);
    if (entry !== undefined) {
      entry.refs++;
      return entry.attributes;
    }
    const frozen = Object.freeze({ ...attributes });
    this.byKey.set(key, { attributes: frozen, refs: 1 });
    this.byObject.set(frozen, key);
    return frozen;
  }

  /** Drops one reference to an interned set; the last one removes it. */
  release(attributes: PathAttributes): void {
    const key = this.byObject.get(attributes);
    if (key === undefined) throw new Error('release of attributes that were not interned here');
    const entry = this.byKey.get(key);
    if (entry === undefined) return;
    if (--entry.refs === 0) {
      this.byKey.delete(key);
      this.byObject.delete(attributes);
    }
  }

  refs(attributes: PathAttributes): number {
    const key = this.byObject.get(attributes);
    return key === undefined ? 0 : (this.byKey.get(key)?.refs ?? 0);
  }
}

function keyOf(a: PathAttributes): string {
  const w = new Writer(128);
  encodePathAttributes(w, a, { fourOctetAs: true });
  return w.finish().toString('latin1');
}
