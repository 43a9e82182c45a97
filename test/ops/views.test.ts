/**
 * explainView as a pure function of a decision: the hold-down of a flapping /32 (its source names
 * the rules, `ns/name kind`, not the service alone) is found both ways: advertisement held back,
 * and withdrawal held back while the /32 is still advertised.
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/bgp/index.js';
import type { Decision } from '../../src/k8s/intent.js';
import { explainView } from '../../src/ops/views.js';

const none = (): { peer: string; sent: boolean }[] => [];

describe('explainView and the churn hold-down', () => {
  it('an advertisement held back is not advertised, and says so with the time left', () => {
    const decision: Decision = {
      intents: [],
      notAdvertised: [{ address: '203.0.113.9', source: 'shop/web loadBalancer', services: ['shop/web'], reason: 'held-down', detail: 'advertisement held back 3.2 s (flapping; minimum interval 5 s)' }],
    };
    expect(explainView('shop/web', ['203.0.113.9'], decision, none).addresses).toEqual([
      { address: '203.0.113.9', advertised: false, why: 'held-down: advertisement held back 3.2 s (flapping; minimum interval 5 s)' },
    ]);
  });

  it('a withdrawal held back is still advertised, and the reason says it is held', () => {
    const decision: Decision = {
      intents: [{ prefix: parsePrefix('203.0.113.9/32'), reasons: [{ rule: 'local-endpoint', kind: 'loadBalancer', service: 'shop/web', source: 'shop/web loadBalancer' }], communities: [], largeCommunities: [], gracefulShutdown: false }],
      notAdvertised: [{ address: '203.0.113.9', source: 'shop/web loadBalancer, shop/api loadBalancer', services: ['shop/web', 'shop/api'], reason: 'held-down', detail: 'withdrawal held back 1.0 s (flapping; minimum interval 5 s)' }],
    };
    const [a] = explainView('shop/web', ['203.0.113.9'], decision, none).addresses;
    expect(a?.advertised).toBe(true);
    expect(a?.why).toBe('local-endpoint: shop/web loadBalancer; withdrawal held back 1.0 s (flapping; minimum interval 5 s)');
    const [b] = explainView('shop/webshop', ['203.0.113.9'], decision, none).addresses;
    // Another service's hold-down is not this one's (and its address, shared, gets the /32's reason).
    expect(b?.why).toBe('local-endpoint: shop/web loadBalancer');
  });
});
