/**
 * The embedded demo: two kbgp nodes on loopback addresses (127.0.0.11 and 127.0.0.12), in
 * different ASes, each originating service prefixes with communities. `kbgp run` with no file
 * starts both in one process, so the sessions and routes can be watched without a cluster or a
 * router.
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
apiVersion: kbgp.io/v1alpha1
kind: KbgpConfiguration
metadata:
  name: node-a
spec:
  nodeName: node-a
  listenAddress: 127.0.0.11
  timers:
    connectDelay: 0.5s
  originate:
    - prefix: 10.96.0.0/12
      communities: [64512:100]
      largeCommunities: [64512:1:1]
    - prefix: 203.0.113.10/32
      communities: [64512:100, graceful_shutdown]
    - prefix: fd00:10:96::/112
      largeCommunities: [64512:1:6]
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
    - prefix: fd00:10:97::/112
`;

export const DEMO_NODES = ['node-a', 'node-b'] as const;
