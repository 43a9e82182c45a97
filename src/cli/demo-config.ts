/**
 * The embedded demo: two kbgp nodes on loopback addresses (127.0.0.11 and 127.0.0.12), in
 * different ASes, advertising the services of a small cluster described by manifests (DEMO_CLUSTER,
 * written to a temp directory and followed like a real cluster). `kbgp run` with no file starts
 * both in one process, so the sessions and routes can be watched without a cluster or a router.
 */
export const DEMO_CONFIG = `
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  asNumber: 64512
  listenPort: 11179
  logSeverityScreen: Info
  serviceClusterIPs:
    - cidr: 10.96.0.0/12
    - cidr: fd00:10:96::/112
  serviceLoadBalancerIPs:
    - cidr: 203.0.113.0/24
  communities:
    - name: services
      value: 64512:100
  prefixAdvertisements:
    - cidr: 203.0.113.0/24
      communities: [services]
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-a
spec:
  bgp:
    ipv4Address: 127.0.0.11/8
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-b
spec:
  bgp:
    ipv4Address: 127.0.0.12/8
    asNumber: 4200000001
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: node-a-to-node-b
spec:
  node: node-a
  peerIP: 127.0.0.12
  asNumber: 4200000001
  keepaliveTime: 10s
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: node-b-to-node-a
spec:
  node: node-b
  peerIP: 127.0.0.11
  asNumber: 64512
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: node-a-to-local-router
spec:
  # A BIRD or FRR you start on 127.0.0.13 (AS 65013) to see the demo's routes in a real router:
  # see the README. node-a only waits for it (passive), so without one nothing is logged.
  node: node-a
  peerIP: 127.0.0.13
  asNumber: 65013
---
apiVersion: kbgp.io/v1alpha1
kind: KbgpConfiguration
metadata:
  name: node-a
spec:
  nodeName: node-a
  listenAddress: 127.0.0.11
  timers:
    connectDelay: 0.5s
  peerSettings:
    - peer: node-a-to-local-router
      passive: true
---
apiVersion: kbgp.io/v1alpha1
kind: KbgpConfiguration
metadata:
  name: node-b
spec:
  nodeName: node-b
  listenAddress: 127.0.0.12
  timers:
    connectDelay: 0.5s
  originate:
    - prefix: 198.51.100.0/24
      communities: [65000:200]
`;

/**
 * The demo's cluster: `web` (LoadBalancer, externalTrafficPolicy Local) has a ready pod on node-a
 * and a terminating-but-serving one on node-b, so node-a announces 203.0.113.10/32 and node-b the
 * same with GRACEFUL_SHUTDOWN; `api` (Cluster) is covered by the ranges every node announces.
 */
export const DEMO_CLUSTER: Readonly<Record<string, string>> = {
  'nodes.yaml': `apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {kubernetes.io/hostname: node-a}
---
apiVersion: v1
kind: Node
metadata:
  name: node-b
  labels: {kubernetes.io/hostname: node-b}
`,
  'web.yaml': `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations: {kbgp.io/large-communities: "64512:1:1"}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10]
  externalTrafficPolicy: Local
  selector: {app: web}
status:
  loadBalancer:
    ingress: [{ip: 203.0.113.10}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
  - addresses: [10.244.1.5]
    nodeName: node-a
    conditions: {ready: true, serving: true, terminating: false}
  - addresses: [10.244.2.7]
    nodeName: node-b
    conditions: {ready: false, serving: true, terminating: true}
`,
  'api.yaml': `apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: default
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.20
  externalTrafficPolicy: Cluster
  selector: {app: api}
status:
  loadBalancer:
    ingress: [{ip: 203.0.113.20}]
`,
};

export const DEMO_NODES = ['node-a', 'node-b'] as const;
