import { describe, expect, it } from 'vitest';
import type { PathAttributes } from '../../src/bgp/index.js';
import { AttributeStore } from '../../src/rib/attribute-store.js';

const a: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.1', communities: [1, 2] };

describe('AttributeStore', () => {
  it('returns one shared object for equal attribute sets, however they were built', () => {
    const s = new AttributeStore();
    const x = s.intern(a);
    const y = s.intern({ communities: [1, 2], nextHop: '192.0.2.1', asPath: [{ type: 2, asns: [65001] }], origin: 0 });
    expect(y).toBe(x);
    expect(s.size).toBe(1);
    expect(s.refs(x)).toBe(2);
    expect(Object.isFrozen(x)).toBe(true);
  });

  it('keeps different sets apart: one community more is another set', () => {
    const s = new AttributeStore();
    expect(s.intern(a)).not.toBe(s.intern({ ...a, communities: [1, 2, 3] }));
    expect(s.size).toBe(2);
  });

  it('frees a set when its last reference is released, and refuses foreign objects', () => {
    const s = new AttributeStore();
    const x = s.intern(a);
    s.intern(x);
    s.release(x);
    expect(s.size).toBe(1);
    s.release(x);
    expect(s.size).toBe(0);
    expect(() => s.release(a)).toThrow(/not interned/);
  });
});
