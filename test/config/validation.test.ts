/**
 * Bad configurations, one table: each document set and the exact message kbgp refuses it with,
 * `<Kind> <name>: <field path>: <reason>` (`document N` before the kind and name are known), the
 * message `kbgp validate` prints after the file name. Every kind, the envelope, and the YAML
 * itself. test/config/config.test.ts keeps its own refusals (substring checks beside the
 * features they guard); none of them is repeated here.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/config/fields.js';
import { PER_NODE_ONLY } from '../../src/config/schema.js';

const doc = (apiVersion: string, kind: string, name: string, spec: string): string => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: ${name}}\nspec: ${spec}`;
const bgpConfiguration = (spec: string, name = 'default'): string => doc('projectcalico.org/v3', 'BGPConfiguration', name, spec);
const node = (spec: string, name = 'n1'): string => doc('projectcalico.org/v3', 'Node', name, spec);
const peer = (spec: string, name = 'p'): string => doc('projectcalico.org/v3', 'BGPPeer', name, spec);
const filter = (spec: string, name = 'f'): string => doc('projectcalico.org/v3', 'BGPFilter', name, spec);
const kbgp = (spec: string, name = 'n1'): string => doc('kbgp.io/v1alpha1', 'KbgpConfiguration', name, spec);
const file = (...d: string[]): string => d.join('\n---\n');

const N1 = node('{bgp: {ipv4Address: 192.0.2.1/24}}');
const P = peer('{peerIP: 192.0.2.9, asNumber: 65001}');
const MD5_REASON = 'cannot be honoured: TCP MD5 signatures (RFC 2385) need the TCP_MD5SIG socket option, which Node.js does not expose; protect the session another way (a dedicated link, ACLs on the ToR) and leave this unset';
const KERNEL = "is not supported by kbgp: it programs no kernel routes and originates no interface routes (Calico's BIRD does both)";
const NO_ROUTER_ID = "no router ID: set it, give the Node an IPv4 address (spec.bgp.ipv4Address), or set $NODE_IP to the node's IPv4 address";

/** [case, file, node to resolve for (undefined: none given), the exact message]. */
const CASES: readonly (readonly [string, string, string | undefined, string])[] = [
  // The envelope and the YAML
  ['YAML that does not parse, in the second document', file(N1, 'kind: BGPPeer\nmetadata: {name: p\nspec: {}'), 'n1', 'document 2: yaml: Flow map in block collection must be sufficiently indented and end with a } at line 8, column 1'],
  ['a document that is not a mapping', file(N1, 'just text'), 'n1', 'document 2: must be a mapping, not "just text"'],
  ['a document without a kind', 'apiVersion: projectcalico.org/v3\nmetadata: {name: p}\nspec: {}', 'n1', 'document 1: kind: is required'],
  ['a kind kbgp does not read, whatever its apiVersion', file(N1, doc('v1', 'ConfigMap', 'kbgp', '{}')), 'n1', 'ConfigMap kbgp: kind: ConfigMap is not a kind kbgp reads (BGPConfiguration, BGPPeer, BGPFilter, Node, KbgpConfiguration)'],
  ['KbgpConfiguration under Calico\'s apiVersion', file(N1, doc('projectcalico.org/v3', 'KbgpConfiguration', 'n1', '{}')), 'n1', 'KbgpConfiguration n1: apiVersion: must be kbgp.io/v1alpha1 for KbgpConfiguration'],
  ['an unknown top-level field, named by kind and name', file(N1, `${P}\nstatus: {}`), 'n1', 'BGPPeer p: status: is not a known field'],
  ['a metadata field kbgp does not read', file(N1, 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p, finalizers: [x]}\nspec: {}'), 'n1', 'BGPPeer p: metadata.finalizers: is not a known field'],
  ['a label that is not a string', file('apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1, labels: {rack: 1}}\nspec: {bgp: {ipv4Address: 192.0.2.1/24}}'), 'n1', 'Node n1: metadata.labels.rack: must be a string, not 1'],
  ['two BGPFilters of one name', file(N1, filter('{}'), filter('{}')), 'n1', 'BGPFilter f: metadata.name: a second BGPFilter named "f"'],
  ['two BGPPeers of one name', file(N1, P, peer('{peerIP: 192.0.2.10, asNumber: 65002}')), 'n1', 'BGPPeer p: metadata.name: a second BGPPeer named "p"'],
  // BGPConfiguration
  ['an asdot AS with a part over 16 bits', file(N1, bgpConfiguration('{asNumber: "65536.1"}')), 'n1', 'BGPConfiguration default: spec.asNumber: "65536.1" is not a valid AS number'],
  ['listenPort 0', file(N1, bgpConfiguration('{listenPort: 0}')), 'n1', 'BGPConfiguration default: spec.listenPort: 0 is not an integer 1..65535'],
  ['a log severity Calico does not have', file(N1, bgpConfiguration('{logSeverityScreen: Verbose}')), 'n1', 'BGPConfiguration default: spec.logSeverityScreen: "Verbose" is not one of Debug, Info, Warning, Error, Fatal'],
  ['a mesh restart time in words', file(N1, bgpConfiguration('{nodeMeshMaxRestartTime: 2 minutes}')), 'n1', 'BGPConfiguration default: spec.nodeMeshMaxRestartTime: "2 minutes" is not a duration (e.g. 20s, 1m30s)'],
  ['nodeToNodeMeshEnabled as text', file(N1, bgpConfiguration('{nodeToNodeMeshEnabled: "yes"}')), 'n1', 'BGPConfiguration default: spec.nodeToNodeMeshEnabled: must be true or false, not "yes"'],
  ['a serviceClusterIPs CIDR longer than 32 bits', file(N1, bgpConfiguration('{serviceClusterIPs: [{cidr: 10.96.0.0/33}]}')), 'n1', 'BGPConfiguration default: spec.serviceClusterIPs[0].cidr: "10.96.0.0/33": prefix length must be 0..32'],
  ['serviceClusterIPs as a bare CIDR', file(N1, bgpConfiguration('{serviceClusterIPs: 10.96.0.0/12}')), 'n1', 'BGPConfiguration default: spec.serviceClusterIPs: must be a list, not "10.96.0.0/12"'],
  ['a serviceExternalIPs entry without its cidr key', file(N1, bgpConfiguration('{serviceExternalIPs: [203.0.113.0/24]}')), 'n1', 'BGPConfiguration default: spec.serviceExternalIPs[0]: must be a mapping, not "203.0.113.0/24"'],
  ['a bad BGPPeer of another node, checked all the same', file(N1, peer('{node: n2, peerIP: 192.0.2.9, asNumber: 65001, filters: [nope]}')), 'n1', 'BGPPeer p: spec.filters[0]: no BGPFilter named "nope"'],
  ['a BGPConfiguration neither default nor node.<name>', file(N1, bgpConfiguration('{asNumber: 65000}', 'global')), 'n1', 'BGPConfiguration global: metadata.name: must be default, or node.<node name> for one node\'s overrides (Calico reads no other)'],
  ['bindMode neither None nor NodeIP', file(N1, bgpConfiguration('{bindMode: Node}')), 'n1', 'BGPConfiguration default: spec.bindMode: "Node" is not one of None, NodeIP'],
  ['bindMode NodeIP without a node address', file(bgpConfiguration('{bindMode: NodeIP}'), kbgp('{routerId: 192.0.2.1}')), 'n1', "BGPConfiguration default: spec.bindMode: NodeIP needs the node's address: give Node n1 spec.bgp.ipv4Address or ipv6Address, or set $NODE_IP"],
  ['ignoredInterfaces, for routes kbgp never programs', file(N1, bgpConfiguration('{ignoredInterfaces: ["eth*"]}')), 'n1', `BGPConfiguration default: spec.ignoredInterfaces: ${KERNEL}`],
  ['serviceClusterIPs per node', file(N1, bgpConfiguration('{serviceClusterIPs: [{cidr: 10.96.0.0/12}]}', 'node.n1')), 'n1', `BGPConfiguration node.n1: spec.serviceClusterIPs: ${PER_NODE_ONLY}`],
  ['nodeMeshPassword per node: the per-node refusal comes first', file(N1, bgpConfiguration('{nodeMeshPassword: {secretKeyRef: {name: s, key: k}}}', 'node.n1')), 'n1', `BGPConfiguration node.n1: spec.nodeMeshPassword: ${PER_NODE_ONLY}`],
  ['another node\'s per-node BGPConfiguration with a global field', file(N1, bgpConfiguration('{nodeToNodeMeshEnabled: false}', 'node.n2')), 'n1', `BGPConfiguration node.n2: spec.nodeToNodeMeshEnabled: ${PER_NODE_ONLY}`],
  // Node
  ['a Node AS of 2^32', file(node('{bgp: {ipv4Address: 192.0.2.1/24, asNumber: 4294967296}}')), 'n1', 'Node n1: spec.bgp.asNumber: 4294967296 is not a valid AS number'],
  ['a Node field outside spec.bgp', file(node('{bgp: {ipv4Address: 192.0.2.1/24}, orchRefs: []}')), 'n1', 'Node n1: spec.orchRefs: is not a known field'],
  ['another Node\'s misspelt field', file(N1, node('{bgp: {ipv4Adress: 192.0.2.2/24}}', 'n2')), 'n1', 'Node n2: spec.bgp.ipv4Adress: is not a known field'],
  // BGPPeer
  ['a BGPPeer with neither peerIP nor peerSelector', file(N1, peer('{asNumber: 65001}')), 'n1', 'BGPPeer p: spec.peerIP: is required without peerSelector'],
  ['an IPv4 peerIP that is not an address', file(N1, peer('{peerIP: 192.0.2.300, asNumber: 65001}')), 'n1', 'BGPPeer p: spec.peerIP: "192.0.2.300" is not an IP address with an optional port'],
  ['an IPv6 peerIP with port 0', file(N1, peer('{peerIP: "[2001:db8::1]:0", asNumber: 65001}')), 'n1', 'BGPPeer p: spec.peerIP: port 0 is not 1..65535'],
  ['a localASNumber of asdot 0.0', file(N1, peer('{peerIP: 192.0.2.9, asNumber: 65001, localASNumber: "0.0"}')), 'n1', 'BGPPeer p: spec.localASNumber: "0.0" is not a valid AS number'],
  ['a peerSelector that does not parse', file(N1, peer("{peerSelector: \"role == 'rr' &&\"}")), 'n1', "BGPPeer p: spec.peerSelector: selector: unexpected end at column 16: expected a label key, has(...), all() or '('"],
  ['a negative maxRestartTime', file(N1, peer('{peerIP: 192.0.2.9, asNumber: 65001, maxRestartTime: -5s}')), 'n1', 'BGPPeer p: spec.maxRestartTime: "-5s" is not a duration (e.g. 20s, 1m30s)'],
  ['filters as one name, not a list', file(N1, filter('{}'), peer('{peerIP: 192.0.2.9, asNumber: 65001, filters: f}')), 'n1', 'BGPPeer p: spec.filters: must be a list, not "f"'],
  ['reachableBy, not supported yet', file(N1, peer('{peerIP: 192.0.2.9, asNumber: 65001, reachableBy: 192.0.2.254}')), 'n1', 'BGPPeer p: spec.reachableBy: is not supported by kbgp yet'],
  ['localWorkloadSelector, not supported yet', file(N1, peer('{asNumber: 65001, localWorkloadSelector: "app == \'bgp\'"}')), 'n1', 'BGPPeer p: spec.localWorkloadSelector: is not supported by kbgp yet'],
  ['a password on a peer for another node: refused all the same', file(N1, peer('{node: n2, peerIP: 192.0.2.9, asNumber: 65001, password: {secretKeyRef: {name: s, key: k}}}')), 'n1', `BGPPeer p: spec.password: ${MD5_REASON}`],
  // BGPFilter
  ['prefixLength without a cidr', file(N1, filter('{exportV4: [{action: Reject, prefixLength: {min: 24}}]}')), 'n1', 'BGPFilter f: spec.exportV4[0].prefixLength: needs a cidr'],
  ['an IPv4 prefixLength of 33', file(N1, filter('{importV4: [{cidr: 10.0.0.0/8, matchOperator: In, prefixLength: {max: 33}, action: Accept}]}')), 'n1', 'BGPFilter f: spec.importV4[0].prefixLength.max: 33 is not an integer 0..32'],
  ['a peerType that is neither', file(N1, filter('{exportV6: [{peerType: external, action: Reject}]}')), 'n1', 'BGPFilter f: spec.exportV6[0].peerType: "external" is not one of eBGP, iBGP'],
  ['a matchOperator Calico does not have', file(N1, filter('{importV4: [{cidr: 10.0.0.0/8, matchOperator: Contains, action: Accept}]}')), 'n1', 'BGPFilter f: spec.importV4[0].matchOperator: "Contains" is not one of In, NotIn, Equal, NotEqual'],
  ['a source in the wrong case', file(N1, filter('{exportV4: [{source: remotePeers, action: Reject}]}')), 'n1', 'BGPFilter f: spec.exportV4[0].source: "remotePeers" is not one of RemotePeers'],
  ['a rule without an action', file(N1, filter('{exportV6: [{peerType: iBGP}]}')), 'n1', 'BGPFilter f: spec.exportV6[0].action: is required'],
  ['a rule with an empty action: required, not an unknown value', file(N1, filter('{importV6: [{action: ""}]}')), 'n1', 'BGPFilter f: spec.importV6[0].action: is required'],
  ['a communities match with no value', file(N1, filter('{importV6: [{communities: {values: []}, action: Reject}]}')), 'n1', 'BGPFilter f: spec.importV6[0].communities: needs a value in values'],
  ['an operation with two kinds', file(N1, filter('{exportV4: [{action: Accept, operations: [{addCommunity: {value: "1:1"}, prependASPath: {prefix: [1]}}]}]}')), 'n1', 'BGPFilter f: spec.exportV4[0].operations[0]: needs exactly one of addCommunity, prependASPath'],
  ['eleven ASes to prepend', file(N1, filter('{exportV4: [{action: Accept, operations: [{prependASPath: {prefix: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}}]}]}')), 'n1', 'BGPFilter f: spec.exportV4[0].operations[0].prependASPath.prefix: needs 1 to 10 AS numbers, not 11'],
  ['eleven operations', file(N1, filter(`{exportV4: [{action: Accept, operations: [${Array.from({ length: 11 }, () => '{addCommunity: {value: "1:1"}}').join(', ')}]}]}`)), 'n1', 'BGPFilter f: spec.exportV4[0].operations: 11 operations; Calico allows at most 10'],
  ['a priority match', file(N1, filter('{importV4: [{priority: 10, action: Accept}]}')), 'n1', 'BGPFilter f: spec.importV4[0].priority: is not supported by kbgp (Calico leaves it undocumented)'],
  // KbgpConfiguration
  ['no node name anywhere', file(N1), undefined, 'KbgpConfiguration: spec.nodeName: no node name: set spec.nodeName, $NODE_NAME or --node'],
  ['two KbgpConfigurations and no node name', file(N1, kbgp('{nodeName: n1}', 'a'), kbgp('{nodeName: n2}', 'b')), undefined, 'KbgpConfiguration: spec.nodeName: no node name: set $NODE_NAME or --node (spec.nodeName is used only when there is one KbgpConfiguration, and there are 2)'],
  ['no router ID, with the default KbgpConfiguration', file(kbgp('{}', 'default')), 'worker-9', `KbgpConfiguration default: spec.routerId: ${NO_ROUTER_ID}`],
  ['peer settings in the default KbgpConfiguration for a BGPPeer nobody has', file(N1, kbgp('{peerSettings: [{peer: tor}]}', 'default')), 'n1', 'KbgpConfiguration default: spec.peerSettings[0].peer: no BGPPeer named "tor" for node n1'],
  ['peer settings without the peer', file(N1, P, kbgp('{peerSettings: [{passive: true}]}')), 'n1', 'KbgpConfiguration n1: spec.peerSettings[0].peer: is required'],
  ['two KbgpConfigurations of one name', file(N1, kbgp('{}'), kbgp('{}')), 'n1', 'KbgpConfiguration n1: metadata.name: a second KbgpConfiguration named "n1"'],
  ['a listen address that is a host name', file(N1, kbgp('{listenAddress: localhost}')), 'n1', 'KbgpConfiguration n1: spec.listenAddress: "localhost" is not an IP address'],
  ['a metrics address without its colon', file(N1, kbgp('{metricsAddress: "9179"}')), 'n1', 'KbgpConfiguration n1: spec.metricsAddress: "9179" is not host:port (e.g. 0.0.0.0:9179, [::1]:9179, :9179)'],
  ['a misspelt timer', file(N1, kbgp('{timers: {keepalive: 10s}}')), 'n1', 'KbgpConfiguration n1: spec.timers.keepalive: is not a known field'],
  ['gracefulRestart as one duration', file(N1, kbgp('{gracefulRestart: 5m}')), 'n1', 'KbgpConfiguration n1: spec.gracefulRestart: must be a mapping, not "5m"'],
  ['a large community with two parts', file(N1, kbgp('{originate: [{prefix: 10.0.0.0/8, largeCommunities: ["64512:1"]}]}')), 'n1', 'KbgpConfiguration n1: spec.originate[0].largeCommunities[0]: "64512:1" is not a large community (expected a:b:c, each 0..4294967295)'],
  ['cluster source in the wrong case', file(N1, kbgp('{cluster: {source: kubernetes}}')), 'n1', 'KbgpConfiguration n1: spec.cluster.source: "kubernetes" is not one of None, Kubernetes, Manifests'],
  ['Calico resources from neither place', file(N1, kbgp('{cluster: {source: Kubernetes, calicoResources: Kubernetes}}')), 'n1', 'KbgpConfiguration n1: spec.cluster.calicoResources: "Kubernetes" is not one of File, Cluster'],
  ['cluster source Manifests without the directory', file(N1, kbgp('{cluster: {source: Manifests}}')), 'n1', 'KbgpConfiguration n1: spec.cluster.manifests: is required with source Manifests: the directory to follow'],
  ['a kubeconfig with source Manifests', file(N1, kbgp('{cluster: {source: Manifests, manifests: /m, kubeconfig: /k}}')), 'n1', 'KbgpConfiguration n1: spec.cluster.kubeconfig: needs source Kubernetes'],
  ['a manifests directory with source Kubernetes', file(N1, kbgp('{cluster: {source: Kubernetes, manifests: /m}}')), 'n1', 'KbgpConfiguration n1: spec.cluster.manifests: needs source Manifests'],
  ['Calico resources from the cluster without the Kubernetes source', file(N1, kbgp('{cluster: {calicoResources: Cluster}}')), 'n1', 'KbgpConfiguration n1: spec.cluster.calicoResources: Cluster needs source Kubernetes: the resources are read from the API server'],
  ['Calico resources from the cluster, and a Node in the file', file(N1, kbgp('{cluster: {source: Kubernetes, calicoResources: Cluster}}')), 'n1', 'Node n1: kind: Node is read from the cluster (KbgpConfiguration spec.cluster.calicoResources is Cluster): remove it from the file'],
];

describe('validation: bad configurations and their exact messages', () => {
  it('has at least 30 cases, each with a distinct message', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CASES.map((c) => c[3])).size).toBe(CASES.length);
  });

  it.each(CASES)('refuses %s', (_case, text, nodeName, message) => {
    let thrown: unknown;
    try {
      loadConfig(text, nodeName);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).message).toBe(message);
  });
});
