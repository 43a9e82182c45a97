import { describe, expect, it } from 'vitest';
import { attributeName, capabilityName, errorName, familyName, messageTypeName } from '../../src/bgp/index.js';

describe('printable names', () => {
  it.each([
    [1, 1, 'Message Header Error / Connection Not Synchronized'],
    [1, 2, 'Message Header Error / Bad Message Length'],
    [1, 3, 'Message Header Error / Bad Message Type'],
    [2, 1, 'OPEN Message Error / Unsupported Version Number'],
    [2, 2, 'OPEN Message Error / Bad Peer AS'],
    [2, 3, 'OPEN Message Error / Bad BGP Identifier'],
    [2, 4, 'OPEN Message Error / Unsupported Optional Parameter'],
    [2, 6, 'OPEN Message Error / Unacceptable Hold Time'],
    [2, 7, 'OPEN Message Error / Unsupported Capability'],
    [3, 1, 'UPDATE Message Error / Malformed Attribute List'],
    [3, 2, 'UPDATE Message Error / Unrecognized Well-known Attribute'],
    [3, 3, 'UPDATE Message Error / Missing Well-known Attribute'],
    [3, 4, 'UPDATE Message Error / Attribute Flags Error'],
    [3, 5, 'UPDATE Message Error / Attribute Length Error'],
    [3, 6, 'UPDATE Message Error / Invalid ORIGIN Attribute'],
    [3, 8, 'UPDATE Message Error / Invalid NEXT_HOP Attribute'],
    [3, 9, 'UPDATE Message Error / Optional Attribute Error'],
    [3, 10, 'UPDATE Message Error / Invalid Network Field'],
    [3, 11, 'UPDATE Message Error / Malformed AS_PATH'],
    [4, 0, 'Hold Timer Expired'],
    [5, 1, 'Finite State Machine Error / Receive Unexpected Message in OpenSent State'],
    [5, 2, 'Finite State Machine Error / Receive Unexpected Message in OpenConfirm State'],
    [5, 3, 'Finite State Machine Error / Receive Unexpected Message in Established State'],
    [6, 1, 'Cease / Maximum Number of Prefixes Reached'],
    [6, 2, 'Cease / Administrative Shutdown'],
    [6, 3, 'Cease / Peer De-configured'],
    [6, 4, 'Cease / Administrative Reset'],
    [6, 5, 'Cease / Connection Rejected'],
    [6, 6, 'Cease / Other Configuration Change'],
    [6, 7, 'Cease / Connection Collision Resolution'],
    [6, 8, 'Cease / Out of Resources'],
    [6, 9, 'Cease / Hard Reset'],
    [7, 1, 'ROUTE-REFRESH Message Error / Invalid Message Length'],
    [3, 99, 'UPDATE Message Error / subcode 99'],
    [42, 1, 'Error code 42 / subcode 1'],
  ])('errorName(%i, %i) is %s', (code, subcode, name) => {
    expect(errorName(code, subcode)).toBe(name);
  });

  it.each([
    [1, 'Multiprotocol Extensions'],
    [2, 'Route Refresh'],
    [5, 'Extended Next Hop Encoding'],
    [6, 'Extended Message'],
    [64, 'Graceful Restart'],
    [65, '4-octet AS Number'],
    [69, 'ADD-PATH'],
    [70, 'Enhanced Route Refresh'],
    [73, 'FQDN (hostname)'],
    [128, 'Route Refresh (Cisco, pre-standard)'],
    [250, 'Capability 250'],
  ])('capabilityName(%i) is %s', (code, name) => {
    expect(capabilityName(code)).toBe(name);
  });

  it.each([
    [1, 'ORIGIN'],
    [2, 'AS_PATH'],
    [3, 'NEXT_HOP'],
    [4, 'MULTI_EXIT_DISC'],
    [5, 'LOCAL_PREF'],
    [6, 'ATOMIC_AGGREGATE'],
    [7, 'AGGREGATOR'],
    [8, 'COMMUNITIES'],
    [9, 'ORIGINATOR_ID'],
    [10, 'CLUSTER_LIST'],
    [14, 'MP_REACH_NLRI'],
    [15, 'MP_UNREACH_NLRI'],
    [16, 'EXTENDED_COMMUNITIES'],
    [17, 'AS4_PATH'],
    [18, 'AS4_AGGREGATOR'],
    [32, 'LARGE_COMMUNITY'],
    [99, 'attribute 99'],
  ])('attributeName(%i) is %s', (type, name) => {
    expect(attributeName(type)).toBe(name);
  });

  it('names message types and families', () => {
    expect([1, 2, 3, 4, 5, 9].map(messageTypeName)).toEqual(['OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH', 'type 9']);
    expect(familyName(1, 1)).toBe('ipv4-unicast');
    expect(familyName(2, 1)).toBe('ipv6-unicast');
    expect(familyName(25, 70)).toBe('afi-25-safi-70');
  });
});
