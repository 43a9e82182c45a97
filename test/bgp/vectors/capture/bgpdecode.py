#!/usr/bin/env python3
"""Minimal BGP-4 decoder that renders a message as annotated hex.

Written for the kbgp golden vectors from the RFCs (4271, 4760, 5492, 6793,
7911, 8092, 4360, 4724, 8538, 8654, 8950, 9072, 9234, 2918, 7313, 8203/9003,
draft-ietf-idr-long-lived-gr, draft-walton-bgp-hostname-capability). It only
knows what the captured messages contain; anything else is shown as raw bytes.

annotate(msg: bytes, ctx: Ctx) -> (lines, summary)
  lines   : list of (hex, comment) pairs, one per field
  summary : one-line human summary of the decoded content

Ctx says how to decode session-dependent fields:
  as4     : 4-octet AS numbers in AS_PATH / AGGREGATOR (RFC 6793 negotiated)
  addpath : set of (afi, safi) for which this sender's NLRI carry path ids (RFC 7911)
"""
import ipaddress
from dataclasses import dataclass, field

AFI = {1: "IPv4", 2: "IPv6", 25: "L2VPN", 16388: "BGP-LS"}
SAFI = {1: "unicast", 2: "multicast", 4: "labeled unicast", 70: "EVPN", 128: "MPLS-VPN",
        133: "flowspec"}
MSG_TYPE = {1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE", 5: "ROUTE-REFRESH"}
CAP_NAME = {
    1: "Multiprotocol Extensions (RFC 4760)",
    2: "Route Refresh (RFC 2918)",
    5: "Extended Next Hop Encoding (RFC 8950)",
    6: "BGP Extended Message (RFC 8654)",
    9: "BGP Role (RFC 9234)",
    64: "Graceful Restart (RFC 4724)",
    65: "Support for 4-octet AS number (RFC 6793)",
    66: "Dynamic Capability (old, pre-standard code)",
    67: "Dynamic Capability (draft-ietf-idr-dynamic-cap)",
    69: "ADD-PATH (RFC 7911)",
    70: "Enhanced Route Refresh (RFC 7313)",
    71: "Long-Lived Graceful Restart (draft-ietf-idr-long-lived-gr)",
    73: "FQDN / hostname (draft-walton-bgp-hostname-capability)",
    128: "Route Refresh, pre-standard Cisco code (RFC 2918 semantics)",
}
CAP_SHORT = {1: "MP", 2: "RouteRefresh", 5: "ExtNextHop", 6: "ExtMessage", 9: "Role",
             64: "GracefulRestart", 65: "AS4", 66: "DynamicCap(old)", 67: "DynamicCap",
             69: "ADD-PATH", 70: "EnhancedRouteRefresh", 71: "LLGR", 73: "FQDN",
             128: "RouteRefresh(Cisco-128)"}
ROLE = {0: "Provider", 1: "Route Server", 2: "Route Server Client", 3: "Customer", 4: "Peer"}
ATTR_NAME = {1: "ORIGIN", 2: "AS_PATH", 3: "NEXT_HOP", 4: "MULTI_EXIT_DISC", 5: "LOCAL_PREF",
             6: "ATOMIC_AGGREGATE", 7: "AGGREGATOR", 8: "COMMUNITIES", 9: "ORIGINATOR_ID",
             10: "CLUSTER_LIST", 14: "MP_REACH_NLRI", 15: "MP_UNREACH_NLRI",
             16: "EXTENDED_COMMUNITIES", 17: "AS4_PATH", 18: "AS4_AGGREGATOR",
             32: "LARGE_COMMUNITY", 35: "OTC (Only to Customer, RFC 9234)"}
ORIGIN = {0: "IGP", 1: "EGP", 2: "INCOMPLETE"}
SEG = {1: "AS_SET", 2: "AS_SEQUENCE", 3: "AS_CONFED_SEQUENCE", 4: "AS_CONFED_SET"}
WELL_KNOWN_COMM = {0xFFFF0000: "GRACEFUL_SHUTDOWN", 0xFFFF0001: "ACCEPT_OWN",
                   0xFFFF0006: "LLGR_STALE", 0xFFFF0007: "NO_LLGR", 0xFFFF029A: "BLACKHOLE",
                   0xFFFFFF01: "NO_EXPORT", 0xFFFFFF02: "NO_ADVERTISE",
                   0xFFFFFF03: "NO_EXPORT_SUBCONFED", 0xFFFFFF04: "NOPEER"}
NOTIF_CODE = {1: "Message Header Error", 2: "OPEN Message Error", 3: "UPDATE Message Error",
              4: "Hold Timer Expired", 5: "Finite State Machine Error", 6: "Cease",
              7: "ROUTE-REFRESH Message Error"}
NOTIF_SUB = {
    1: {1: "Connection Not Synchronized", 2: "Bad Message Length", 3: "Bad Message Type"},
    2: {1: "Unsupported Version Number", 2: "Bad Peer AS", 3: "Bad BGP Identifier",
        4: "Unsupported Optional Parameter", 6: "Unacceptable Hold Time",
        7: "Unsupported Capability", 11: "Role Mismatch"},
    3: {1: "Malformed Attribute List", 3: "Missing Well-known Attribute",
        8: "Invalid NEXT_HOP Attribute", 11: "Malformed AS_PATH"},
    6: {1: "Maximum Number of Prefixes Reached", 2: "Administrative Shutdown",
        3: "Peer De-configured", 4: "Administrative Reset", 5: "Connection Rejected",
        6: "Other Configuration Change", 7: "Connection Collision Resolution",
        8: "Out of Resources", 9: "Hard Reset", 10: "BFD Down"},
}
RR_SUBTYPE = {0: "normal route refresh (RFC 2918)", 1: "BoRR, Beginning of Route Refresh (RFC 7313)",
              2: "EoRR, End of Route Refresh (RFC 7313)"}


@dataclass
class Ctx:
    as4: bool = True
    addpath: set = field(default_factory=set)


def h(b):
    return b.hex()


def afisafi(afi, safi):
    return f"{AFI.get(afi, f'AFI {afi}')} {SAFI.get(safi, f'SAFI {safi}')}"


def comm_str(v):
    s = f"{v >> 16}:{v & 0xFFFF}"
    if v in WELL_KNOWN_COMM:
        s += f" ({WELL_KNOWN_COMM[v]})"
    return s


def ip_str(b):
    """Address text; IPv4-mapped IPv6 addresses in the ::ffff:a.b.c.d form (RFC 4291 2.5.5.2)."""
    ip = ipaddress.ip_address(b)
    if ip.version == 6 and ip.ipv4_mapped:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def prefix_str(afi, plen, pbytes):
    size = 4 if afi == 1 else 16
    addr = pbytes + bytes(size - len(pbytes))
    ip = ipaddress.ip_address(addr)
    return f"{ip}/{plen}"


class Out:
    def __init__(self):
        self.lines = []

    def add(self, b, comment):
        self.lines.append((h(b), comment))

    def text(self, b, label, chunk=16):
        """A byte string shown in lines of at most 16 bytes, each commented with
        its text; lines never split a UTF-8 multi-byte character."""
        i = 0
        while i < len(b):
            j = min(i + chunk, len(b))
            while j < len(b) and j > i + 1 and (b[j] & 0xC0) == 0x80:
                j -= 1          # do not cut inside a UTF-8 sequence
            part = b[i:j]
            txt = part.decode("utf-8", "replace")
            what = label if i == 0 else f"{label} (continued)"
            self.add(part, f'{what}: "{txt}"')
            i = j


def flags_str(fl):
    parts = ["optional" if fl & 0x80 else "well-known",
             "transitive" if fl & 0x40 else "non-transitive"]
    if fl & 0x20:
        parts.append("partial")
    if fl & 0x10:
        parts.append("extended length")
    if fl & 0x0F:
        parts.append(f"low bits 0x{fl & 0x0F:x} set")
    return f"flags 0x{fl:02x}: " + ", ".join(parts)


# ---------------------------------------------------------------- NLRI
def nlri_list(out, data, afi, safi, ctx, what):
    """Decode a list of prefixes; returns list of strings for the summary."""
    res = []
    addpath = (afi, safi) in ctx.addpath
    i = 0
    while i < len(data):
        pid = None
        if addpath:
            pid = int.from_bytes(data[i:i + 4], "big")
            out.add(data[i:i + 4], f"path identifier {pid}")
            i += 4
        plen = data[i]
        nbytes = (plen + 7) // 8
        p = prefix_str(afi, plen, data[i + 1:i + 1 + nbytes])
        out.add(data[i:i + 1 + nbytes], f"{what} {p} (prefix length {plen}, {nbytes} octet(s))")
        res.append(f"{p} path-id {pid}" if pid is not None else p)
        i += 1 + nbytes
    return res


# ---------------------------------------------------------------- OPEN
def caps(out, data, summ):
    i = 0
    while i < len(data):
        code, ln = data[i], data[i + 1]
        val = data[i + 2:i + 2 + ln]
        out.add(data[i:i + 1], f"capability code {code} = {CAP_NAME.get(code, 'unknown')}")
        out.add(data[i + 1:i + 2], f"capability length {ln}")
        s = CAP_SHORT.get(code, f"cap{code}")
        if code == 1:
            afi, safi = int.from_bytes(val[0:2], "big"), val[3]
            out.add(val[0:2], f"AFI {afi} = {AFI.get(afi, '?')}")
            out.add(val[2:3], "reserved")
            out.add(val[3:4], f"SAFI {safi} = {SAFI.get(safi, '?')}")
            s += f"({afisafi(afi, safi)})"
        elif code == 5:
            parts = []
            for j in range(0, ln, 6):
                a, sf, na = (int.from_bytes(val[j:j + 2], "big"), int.from_bytes(val[j + 2:j + 4], "big"),
                             int.from_bytes(val[j + 4:j + 6], "big"))
                out.add(val[j:j + 2], f"NLRI AFI {a} = {AFI.get(a, '?')}")
                out.add(val[j + 2:j + 4], f"NLRI SAFI {sf} = {SAFI.get(sf, '?')} (2 octets here)")
                out.add(val[j + 4:j + 6], f"next hop AFI {na} = {AFI.get(na, '?')}")
                parts.append(f"{afisafi(a, sf)} via {AFI.get(na, na)} next hop")
            s += f"({', '.join(parts)})"
        elif code == 9:
            out.add(val, f"role {val[0]} = {ROLE.get(val[0], '?')}")
            s += f"({ROLE.get(val[0], val[0])})"
        elif code == 64:
            w = int.from_bytes(val[0:2], "big")
            fl, t = w >> 12, w & 0x0FFF
            names = []
            if fl & 8:
                names.append("R=restarting")
            if fl & 4:
                names.append("N=notification (RFC 8538)")
            out.add(val[0:2], f"restart flags 0x{fl:x} ({', '.join(names) or 'none'}), "
                              f"restart time {t} s")
            afs = []
            for j in range(2, ln, 4):
                a, sf, f = int.from_bytes(val[j:j + 2], "big"), val[j + 2], val[j + 3]
                out.add(val[j:j + 2], f"AFI {a} = {AFI.get(a, '?')}")
                out.add(val[j + 2:j + 3], f"SAFI {sf} = {SAFI.get(sf, '?')}")
                out.add(val[j + 3:j + 4], f"AFI flags 0x{f:02x}" +
                        (" (F=forwarding state preserved)" if f & 0x80 else " (forwarding state not preserved)"))
                afs.append(afisafi(a, sf) + (" F" if f & 0x80 else ""))
            short = "+".join(n for n, bit in (("R", 8), ("N", 4)) if fl & bit)
            s += (f"(flags 0x{fl:x}{' ' + short if short else ''}, restart time {t}s"
                  + (f"; {', '.join(afs)}" if afs else "; no AFIs") + ")")
        elif code == 65:
            asn = int.from_bytes(val, "big")
            out.add(val, f"AS {asn}")
            s += f"({asn})"
        elif code == 69:
            names = {1: "receive", 2: "send", 3: "send/receive"}
            afs = []
            for j in range(0, ln, 4):
                a, sf, sr = int.from_bytes(val[j:j + 2], "big"), val[j + 2], val[j + 3]
                out.add(val[j:j + 2], f"AFI {a} = {AFI.get(a, '?')}")
                out.add(val[j + 2:j + 3], f"SAFI {sf} = {SAFI.get(sf, '?')}")
                out.add(val[j + 3:j + 4], f"send/receive {sr} = {names.get(sr, '?')}")
                afs.append(f"{afisafi(a, sf)} {names.get(sr, sr)}")
            s += f"({', '.join(afs)})"
        elif code == 71:
            afs = []
            for j in range(0, ln, 7):
                a, sf, f = int.from_bytes(val[j:j + 2], "big"), val[j + 2], val[j + 3]
                st = int.from_bytes(val[j + 4:j + 7], "big")
                out.add(val[j:j + 2], f"AFI {a} = {AFI.get(a, '?')}")
                out.add(val[j + 2:j + 3], f"SAFI {sf} = {SAFI.get(sf, '?')}")
                out.add(val[j + 3:j + 4], f"flags 0x{f:02x}" +
                        (" (F=forwarding state preserved)" if f & 0x80 else ""))
                out.add(val[j + 4:j + 7], f"long-lived stale time {st} s")
                afs.append(f"{afisafi(a, sf)} stale {st}s" + (" F" if f & 0x80 else ""))
            s += f"({', '.join(afs) or 'no AFIs'})"
        elif code == 73:
            hl = val[0]
            out.add(val[0:1], f"hostname length {hl}")
            out.text(val[1:1 + hl], "hostname")
            dl = val[1 + hl]
            out.add(val[1 + hl:2 + hl], f"domain name length {dl}")
            out.text(val[2 + hl:2 + hl + dl], "domain name")
            s += f'(host "{val[1:1 + hl].decode()}", domain "{val[2 + hl:2 + hl + dl].decode()}")'
        elif ln:
            out.add(val, "capability value (not decoded)")
        summ.append(s)
        i += 2 + ln


def open_msg(out, b, ctx):
    ver, myas, hold = b[0], int.from_bytes(b[1:3], "big"), int.from_bytes(b[3:5], "big")
    bgpid = ipaddress.ip_address(b[5:9])
    out.add(b[0:1], f"version {ver}")
    out.add(b[1:3], f"my AS {myas}" + (" (AS_TRANS, RFC 6793)" if myas == 23456 else ""))
    out.add(b[3:5], f"hold time {hold} s")
    out.add(b[5:9], f"BGP identifier {bgpid}")
    optlen = b[9]
    i = 10
    ext = False
    if optlen == 255 and len(b) > 10 and b[10] == 255:
        ext = True
        out.add(b[9:10], "non-ext. opt. params length 255 (RFC 9072 marker)")
        out.add(b[10:11], "non-ext. opt. param type 255 (RFC 9072: extended length follows)")
        optlen = int.from_bytes(b[11:13], "big")
        out.add(b[11:13], f"extended opt. params length {optlen} (RFC 9072)")
        i = 13
    else:
        out.add(b[9:10], f"opt. params length {optlen}")
    end = i + optlen
    summ = []
    nparams = 0
    while i < end:
        ptype = b[i]
        if ext:
            plen = int.from_bytes(b[i + 1:i + 3], "big")
            hdr = 3
        else:
            plen = b[i + 1]
            hdr = 2
        out.add(b[i:i + 1], f"opt. param type {ptype}" + (" = Capabilities (RFC 5492)" if ptype == 2 else ""))
        out.add(b[i + 1:i + hdr], f"opt. param length {plen}" + (" (2 octets, RFC 9072)" if ext else ""))
        if ptype == 2:
            caps(out, b[i + hdr:i + hdr + plen], summ)
        else:
            out.add(b[i + hdr:i + hdr + plen], "parameter value (not decoded)")
        nparams += 1
        i += hdr + plen
    as4 = [s for s in summ if s.startswith("AS4(")]
    asdesc = f"AS {as4[0][4:-1]}" + (f" (header AS {myas})" if myas != int(as4[0][4:-1]) else "") \
        if as4 else f"AS {myas} (no AS4 capability)"
    extra = ", RFC 9072 extended optional parameters" if ext else ""
    return (f"OPEN, version {ver}, {asdesc}, hold time {hold}, BGP ID {bgpid}{extra}; "
            f"{nparams} capability parameter(s), capabilities: {', '.join(summ)}")


# ---------------------------------------------------------------- UPDATE
def aspath(out, v, width, label):
    segs = []
    i = 0
    while i < len(v):
        t, n = v[i], v[i + 1]
        out.add(v[i:i + 1], f"segment type {t} = {SEG.get(t, '?')}")
        out.add(v[i + 1:i + 2], f"segment length {n} AS number(s), {width} octets each")
        i += 2
        asns = []
        for _ in range(n):
            a = int.from_bytes(v[i:i + width], "big")
            out.add(v[i:i + width], f"AS {a}" + (" (AS_TRANS)" if a == 23456 else ""))
            asns.append(str(a))
            i += width
        segs.append("{" + ",".join(asns) + "}" if t == 1 else " ".join(asns))
    return f"{label} [{' '.join(segs)}]" if segs else f"{label} [] (empty)"


def ext_comm(b):
    t, st = b[0], b[1]
    ttype = "non-transitive " if t & 0x40 else ""
    base = t & 0x3F
    if base == 0x00 and st in (0x02, 0x03):
        g, l = int.from_bytes(b[2:4], "big"), int.from_bytes(b[4:8], "big")
        n = "route target" if st == 2 else "route origin"
        return f"{ttype}2-octet-AS-specific {n} {g}:{l}", f"{'rt' if st == 2 else 'soo'} {g}:{l}"
    if base == 0x02 and st in (0x02, 0x03):
        g, l = int.from_bytes(b[2:6], "big"), int.from_bytes(b[6:8], "big")
        n = "route target" if st == 2 else "route origin"
        return f"{ttype}4-octet-AS-specific {n} {g}:{l}", f"{'rt' if st == 2 else 'soo'} {g}:{l}"
    if base == 0x01 and st in (0x02, 0x03):
        g, l = ipaddress.ip_address(b[2:6]), int.from_bytes(b[6:8], "big")
        n = "route target" if st == 2 else "route origin"
        return f"{ttype}IPv4-address-specific {n} {g}:{l}", f"{'rt' if st == 2 else 'soo'} {g}:{l}"
    return f"type 0x{t:02x} subtype 0x{st:02x} value {b[2:].hex()}", f"0x{b.hex()}"


def attr_value(out, code, v, ctx, mp, summ):
    if code == 1:
        out.add(v, f"ORIGIN {v[0]} = {ORIGIN.get(v[0], '?')}")
        summ.append(f"ORIGIN {ORIGIN.get(v[0], v[0])}")
    elif code in (2, 17):
        width = 4 if (code == 17 or ctx.as4) else 2
        summ.append(aspath(out, v, width, ATTR_NAME[code]))
    elif code == 3:
        out.add(v, f"next hop {ipaddress.ip_address(v)}")
        summ.append(f"NEXT_HOP {ipaddress.ip_address(v)}")
    elif code in (4, 5):
        n = int.from_bytes(v, "big")
        out.add(v, f"{'MED' if code == 4 else 'LOCAL_PREF'} {n}")
        summ.append(f"{'MED' if code == 4 else 'LOCAL_PREF'} {n}")
    elif code == 6:
        summ.append("ATOMIC_AGGREGATE")
    elif code in (7, 18):
        width = 4 if (code == 18 or ctx.as4 or len(v) == 8) else 2
        a = int.from_bytes(v[:width], "big")
        ip = ipaddress.ip_address(v[width:])
        out.add(v[:width], f"aggregator AS {a} ({width} octets)" + (" (AS_TRANS)" if a == 23456 else ""))
        out.add(v[width:], f"aggregator BGP ID {ip}")
        summ.append(f"{ATTR_NAME[code]} AS {a} {ip}")
    elif code == 8:
        cs = []
        for i in range(0, len(v), 4):
            c = int.from_bytes(v[i:i + 4], "big")
            out.add(v[i:i + 4], f"community {comm_str(c)}")
            cs.append(comm_str(c))
        summ.append(f"COMMUNITIES {', '.join(cs)}")
    elif code in (9,):
        out.add(v, f"originator ID {ipaddress.ip_address(v)}")
        summ.append(f"ORIGINATOR_ID {ipaddress.ip_address(v)}")
    elif code == 10:
        ids = []
        for i in range(0, len(v), 4):
            ids.append(str(ipaddress.ip_address(v[i:i + 4])))
            out.add(v[i:i + 4], f"cluster ID {ids[-1]}")
        summ.append(f"CLUSTER_LIST {' '.join(ids)}")
    elif code == 14:
        afi, safi, nhl = int.from_bytes(v[0:2], "big"), v[2], v[3]
        out.add(v[0:2], f"AFI {afi} = {AFI.get(afi, '?')}")
        out.add(v[2:3], f"SAFI {safi} = {SAFI.get(safi, '?')}")
        out.add(v[3:4], f"next hop length {nhl}")
        nh = v[4:4 + nhl]
        nhs = []
        if nhl in (16, 32):
            g = ip_str(nh[:16])
            mapped = " (IPv4-mapped IPv6 address)" if g.startswith("::ffff:") else ""
            out.add(nh[:16], f"next hop (global) {g}{mapped}")
            nhs.append(g)
            if nhl == 32:
                ll = ip_str(nh[16:])
                out.add(nh[16:], f"next hop (link-local) {ll}")
                nhs.append(f"link-local {ll}")
        elif nhl == 4:
            out.add(nh, f"next hop {ipaddress.ip_address(nh)}")
            nhs.append(str(ipaddress.ip_address(nh)))
        else:
            out.add(nh, "next hop (not decoded)")
            nhs.append(nh.hex())
        out.add(v[4 + nhl:5 + nhl], "reserved (was SNPA count)")
        prefixes = nlri_list(out, v[5 + nhl:], afi, safi, ctx, "NLRI")
        summ.append(f"MP_REACH_NLRI {afisafi(afi, safi)} next hop {' + '.join(nhs)} NLRI {', '.join(prefixes)}")
        mp["reach"] = (afi, safi, prefixes)
    elif code == 15:
        afi, safi = int.from_bytes(v[0:2], "big"), v[2]
        out.add(v[0:2], f"AFI {afi} = {AFI.get(afi, '?')}")
        out.add(v[2:3], f"SAFI {safi} = {SAFI.get(safi, '?')}")
        prefixes = nlri_list(out, v[3:], afi, safi, ctx, "withdrawn")
        if prefixes:
            summ.append(f"MP_UNREACH_NLRI {afisafi(afi, safi)} withdrawn {', '.join(prefixes)}")
        else:
            summ.append(f"MP_UNREACH_NLRI {afisafi(afi, safi)} with no prefixes")
        mp["unreach"] = (afi, safi, prefixes)
    elif code == 16:
        cs = []
        for i in range(0, len(v), 8):
            long_, short = ext_comm(v[i:i + 8])
            out.add(v[i:i + 8], f"extended community: {long_} (type 0x{v[i]:02x} subtype 0x{v[i + 1]:02x})")
            cs.append(short)
        summ.append(f"EXTENDED_COMMUNITIES {', '.join(cs)}")
    elif code == 32:
        cs = []
        for i in range(0, len(v), 12):
            g, a, b = (int.from_bytes(v[i + k:i + k + 4], "big") for k in (0, 4, 8))
            out.add(v[i:i + 12], f"large community {g}:{a}:{b}")
            cs.append(f"{g}:{a}:{b}")
        summ.append(f"LARGE_COMMUNITY {', '.join(cs)}")
    elif code == 35:
        a = int.from_bytes(v, "big")
        out.add(v, f"OTC AS {a}")
        summ.append(f"OTC {a}")
    else:
        if v:
            out.add(v, "attribute value (not decoded)")
        summ.append(f"attr{code} 0x{v.hex()}")


def update_msg(out, b, ctx):
    wl = int.from_bytes(b[0:2], "big")
    out.add(b[0:2], f"withdrawn routes length {wl}")
    withdrawn = nlri_list(out, b[2:2 + wl], 1, 1, ctx, "withdrawn")
    i = 2 + wl
    al = int.from_bytes(b[i:i + 2], "big")
    out.add(b[i:i + 2], f"total path attribute length {al}")
    i += 2
    end = i + al
    summ, mp, order = [], {}, []
    while i < end:
        fl, code = b[i], b[i + 1]
        if fl & 0x10:
            ln = int.from_bytes(b[i + 2:i + 4], "big")
            hl = 4
        else:
            ln = b[i + 2]
            hl = 3
        name = ATTR_NAME.get(code, f"unknown attribute {code}")
        order.append(code)
        out.add(b[i:i + 1], f"attr {flags_str(fl)}")
        out.add(b[i + 1:i + 2], f"attr type {code} = {name}")
        out.add(b[i + 2:i + hl], f"attr length {ln}" + (" (2 octets: extended length)" if hl == 4 else ""))
        attr_value(out, code, b[i + hl:i + hl + ln], ctx, mp, summ)
        if fl & 0x10 and ln < 256:
            summ[-1] += " [ext-len flag]"
        i += hl + ln
    nlri = nlri_list(out, b[end:], 1, 1, ctx, "NLRI")
    # summary
    if not withdrawn and not nlri and not order:
        return "UPDATE, End-of-RIB marker for IPv4 unicast (empty UPDATE, RFC 4724)"
    if order == [15] and not mp["unreach"][2] and not withdrawn and not nlri:
        a, s, _ = mp["unreach"]
        return f"UPDATE, End-of-RIB marker for {afisafi(a, s)} (MP_UNREACH_NLRI with no prefixes, RFC 4724)"
    parts = []
    if withdrawn:
        parts.append(f"withdrawn IPv4 {', '.join(withdrawn)}")
    if summ:
        parts.append("attributes (wire order): " + "; ".join(summ))
    if nlri:
        parts.append(f"NLRI {', '.join(nlri)}")
    return "UPDATE, " + " | ".join(parts)


# ---------------------------------------------------------------- others
def notification_msg(out, b, ctx):
    code, sub = b[0], b[1]
    cname = NOTIF_CODE.get(code, "?")
    sname = NOTIF_SUB.get(code, {}).get(sub, "unspecific" if sub == 0 else "?")
    out.add(b[0:1], f"error code {code} = {cname}")
    out.add(b[1:2], f"error subcode {sub} = {sname}")
    data = b[2:]
    s = f"NOTIFICATION {code}/{sub} {cname} / {sname}"
    if code == 6 and sub in (2, 4) and data:
        n = data[0]
        out.add(data[0:1], f"shutdown communication length {n} (RFC 9003)")
        out.text(data[1:1 + n], "shutdown communication (UTF-8)")
        s += f', shutdown communication "{data[1:1 + n].decode("utf-8", "replace")}"'
        if len(data) > 1 + n:
            out.add(data[1 + n:], "trailing data")
            s += f", trailing data 0x{data[1 + n:].hex()}"
    elif code == 6 and sub == 9 and len(data) >= 2:
        ic, isub = data[0], data[1]
        icn = NOTIF_CODE.get(ic, "?")
        isn = NOTIF_SUB.get(ic, {}).get(isub, "?")
        out.add(data[0:1], f"data: encapsulated error code {ic} = {icn} (RFC 8538 Hard Reset)")
        out.add(data[1:2], f"data: encapsulated error subcode {isub} = {isn}")
        s += f", encapsulating {ic}/{isub} {icn} / {isn}"
        if len(data) > 2:
            out.add(data[2:], "data: encapsulated notification data")
            s += f" with data 0x{data[2:].hex()}"
    elif code == 2 and sub == 2 and len(data) in (2, 4):
        a = int.from_bytes(data, "big")
        out.add(data, f"data: peer AS {a} as received in the OPEN ({len(data)} octets)")
        s += f", data = AS {a}"
    elif data:
        try:
            txt = data.decode("ascii")
            if not txt.isprintable():
                raise ValueError
            out.text(data, "data (ASCII text, not RFC-defined)")
            s += f', data = text "{txt}"'
        except ValueError:
            out.add(data, "data")
            s += f", data 0x{data.hex()}"
    else:
        s += ", no data"
    return s


def refresh_msg(out, b, ctx):
    afi, st, safi = int.from_bytes(b[0:2], "big"), b[2], b[3]
    out.add(b[0:2], f"AFI {afi} = {AFI.get(afi, '?')}")
    out.add(b[2:3], f"subtype {st} = {RR_SUBTYPE.get(st, '?')}" if st else
            "reserved / subtype 0 = normal route refresh (RFC 2918, RFC 7313)")
    out.add(b[3:4], f"SAFI {safi} = {SAFI.get(safi, '?')}")
    if len(b) > 4:
        out.add(b[4:], "ORF entries (not decoded)")
    return f"ROUTE-REFRESH {afisafi(afi, safi)}, {RR_SUBTYPE.get(st, f'subtype {st}')}"


def annotate(msg, ctx=None):
    ctx = ctx or Ctx()
    out = Out()
    assert msg[:16] == b"\xff" * 16, "bad marker"
    ln, t = int.from_bytes(msg[16:18], "big"), msg[18]
    assert ln == len(msg), "length mismatch"
    out.add(msg[:16], "marker")
    out.add(msg[16:18], f"length {ln}")
    out.add(msg[18:19], f"type {t} {MSG_TYPE.get(t, '?')}")
    body = msg[19:]
    if t == 1:
        s = open_msg(out, body, ctx)
    elif t == 2:
        s = update_msg(out, body, ctx)
    elif t == 3:
        s = notification_msg(out, body, ctx)
    elif t == 4:
        s = "KEEPALIVE (header only, 19 octets)"
    elif t == 5:
        s = refresh_msg(out, body, ctx)
    else:
        s = f"unknown type {t}"
        if body:
            out.add(body, "body")
    return out.lines, s


def caps_of(open_msg_bytes):
    """{code: [values]} for every capability in an OPEN (either param encoding)."""
    b = open_msg_bytes[19:]
    optlen, i, ext = b[9], 10, False
    if optlen == 255 and b[10] == 255:
        ext, optlen, i = True, int.from_bytes(b[11:13], "big"), 13
    end, res = i + optlen, {}
    while i < end:
        ptype = b[i]
        plen, hdr = (int.from_bytes(b[i + 1:i + 3], "big"), 3) if ext else (b[i + 1], 2)
        if ptype == 2:
            j, v = i + hdr, b[i + hdr:i + hdr + plen]
            j = 0
            while j < len(v):
                res.setdefault(v[j], []).append(v[j + 2:j + 2 + v[j + 1]])
                j += 2 + v[j + 1]
        i += hdr + plen
    return res


def session_ctx(sender_open, receiver_open):
    """Ctx for messages from the sender of sender_open to the sender of receiver_open."""
    a, b = caps_of(sender_open), caps_of(receiver_open)
    as4 = 65 in a and 65 in b

    def ap(c):
        r = {}
        for v in c.get(69, []):
            for j in range(0, len(v), 4):
                r[(int.from_bytes(v[j:j + 2], "big"), v[j + 2])] = v[j + 3]
        return r
    sa, rb = ap(a), ap(b)
    addpath = {k for k, sr in sa.items() if sr & 2 and rb.get(k, 0) & 1}
    return Ctx(as4=as4, addpath=addpath)


def render(lines, header, width=36):
    out = [f"# {h_}" for h_ in header]
    for hx, c in lines:
        pad = hx.ljust(width - 1) if len(hx) < width - 1 else hx
        out.append(f"{pad} # {c}")
    return "\n".join(out) + "\n"
