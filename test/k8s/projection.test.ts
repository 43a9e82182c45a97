/**
 * What the watcher keeps of an object as the API serves it: the fields the decision reads and the
 * watch's metadata, nothing else (managedFields, last-applied-configuration, targetRef, zone, hints).
 * That this changes no decision is a property in decide.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { projectEndpointSlice, projectNode, projectService } from '../../src/k8s/projection.js';

const managedFields = [{ manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:ports': {} } } }];

describe('projection', () => {
  it('keeps of a served Service its addresses, type, policy, ingress IPs and the annotations kbgp reads', () => {
    const served = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        namespace: 'shop',
        uid: '3f1c',
        resourceVersion: '4711',
        creationTimestamp: '2026-11-01T00:00:00Z',
        labels: { app: 'web' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1","kind":"Service"}', 'kbgp.io/communities': '64512:1', 'projectcalico.org/exportBgpServiceRoutes': 'true' },
        managedFields,
      },
      spec: {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        externalIPs: ['192.0.2.10'],
        externalTrafficPolicy: 'Local',
        ports: [{ port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 31000 }],
        selector: { app: 'web' },
        sessionAffinity: 'None',
        ipFamilies: ['IPv4'],
        healthCheckNodePort: 32000,
      },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] }] }, conditions: [] },
    };
    expect(projectService(served)).toEqual({
      metadata: { name: 'web', namespace: 'shop', resourceVersion: '4711', annotations: { 'kbgp.io/communities': '64512:1', 'projectcalico.org/exportBgpServiceRoutes': 'true' } },
      spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], externalIPs: ['192.0.2.10'], externalTrafficPolicy: 'Local' },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } },
    });
  });

  it('keeps of a served EndpointSlice its labels, address type, and per endpoint the addresses, node and conditions', () => {
    const served = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'web-abcde',
        namespace: 'shop',
        generateName: 'web-',
        resourceVersion: '4712',
        labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
        annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-11-01T00:00:00Z' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: '3f1c', controller: true, blockOwnerDeletion: true }],
        managedFields,
      },
      addressType: 'IPv4',
      endpoints: [
        {
          addresses: ['10.244.1.5'],
          conditions: { ready: true, serving: true, terminating: false },
          nodeName: 'node-1',
          zone: 'a',
          hints: { forZones: [{ name: 'a' }] },
          targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: '9a9a' },
        },
        { addresses: ['10.244.2.5'], conditions: { ready: null }, nodeName: 'node-2' },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    };
    expect(projectEndpointSlice(served)).toEqual({
      metadata: { name: 'web-abcde', namespace: 'shop', resourceVersion: '4712', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.244.1.5'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1' },
        { addresses: ['10.244.2.5'], conditions: { ready: null }, nodeName: 'node-2' },
      ],
    });
  });

  it('keeps of a Node its labels and pod CIDRs, not its status', () => {
    const served = {
      metadata: { name: 'node-1', resourceVersion: '9', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }, annotations: { 'projectcalico.org/IPv4Address': '192.0.2.11/24' }, managedFields },
      spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], providerID: 'kind://node-1', taints: [] },
      status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '192.0.2.11' }], images: [{ names: ['x'], sizeBytes: 1 }] },
    };
    expect(projectNode(served)).toEqual({
      metadata: { name: 'node-1', resourceVersion: '9', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } },
      spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
    });
  });

  it('leaves what is not an object as it is, and drops fields a typed client object holds as undefined', () => {
    expect(projectService(null)).toBeNull();
    expect(projectEndpointSlice('x')).toBe('x');
    expect(projectService({ metadata: { name: 'a', namespace: undefined, annotations: undefined }, spec: 7 })).toEqual({ metadata: { name: 'a' }, spec: 7 });
  });
});
