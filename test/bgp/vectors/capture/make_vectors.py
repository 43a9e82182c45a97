#!/usr/bin/env python3
"""Pick messages out of the captures and write them as annotated .hex vectors.

Usage: make_vectors.py OUTDIR MESSAGES.jsonl [MESSAGES.jsonl ...]

Each RULES entry names a vector file and how to find its message (sender,
receiver, BGP type, substrings of the decoded summary, n-th match).  The
annotated file gets three header comment lines (source, summary, decode
context), optional notes, then one line per field.  The table in
OUTDIR/README.md between the vectors:begin/end markers is regenerated.
"""
import datetime
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the capture directory free of __pycache__

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bgpdecode import AFI, SAFI, annotate, render  # noqa: E402
from catalog import load  # noqa: E402


def version(cmd, pattern):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        m = re.search(pattern, out.stdout + out.stderr)
        return m.group(1) if m else "?"
    except OSError:
        return "?"


BIRD = "BIRD " + version(["bird", "--version"], r"BIRD version (\S+)")
FRR = "FRR " + version(["/usr/lib/frr/bgpd", "--version"], r"bgpd version (\S+)") + " bgpd"
GOBGP = "GoBGP " + version(["gobgpd", "--version"], r"gobgpd version (\S+)") + " gobgpd"
EXABGP = "ExaBGP " + version(["exabgp", "--version"], r"ExaBGP : (\S+)")
TSHARK = "tshark " + version(["tshark", "--version"], r"TShark \(Wireshark\) (\S+)")

WHO = {
    "127.0.0.2": BIRD, "127.0.0.3": FRR, "127.0.0.4": GOBGP, "127.0.0.5": EXABGP,
    "127.0.0.6": "python OPEN sink (sink.py)", "127.0.0.7": EXABGP, "127.0.0.8": EXABGP,
    "2001:db8:ab::a": BIRD, "2001:db8:ab::b": FRR,
}


def where(addr):
    return ("veth between network namespaces kbgp-a/kbgp-b" if ":" in addr else "loopback")


T_OPEN, T_UPDATE, T_NOTIF, T_RR, T_KA = 1, 2, 3, 5, 4
B, F, G, E = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
NA, NB = "2001:db8:ab::a", "2001:db8:ab::b"


def R(file, src, dst, typ, has=(), what="", note=None, nth=0):
    return dict(file=file, src=src, dst=dst, type=typ, has=list(has), what=what, note=note, nth=nth)


RULES = [
    # ------------------------------------------------------------------ OPEN
    R("open-bird2.hex", B, F, T_OPEN, what="OPEN to FRR: MP IPv4+IPv6, route refresh, extended next hop, "
      "extended message, role Peer, graceful restart, AS4, enhanced route refresh, LLGR, hostname"),
    R("open-bird2-addpath.hex", B, E, T_OPEN, what="OPEN to ExaBGP with ADD-PATH send/receive for IPv4+IPv6"),
    R("open-frr8.hex", F, B, T_OPEN, what="OPEN to BIRD: one capability per optional parameter (14 params), "
      "incl. Cisco route refresh 128, role, ADD-PATH receive, dynamic capability 66+67, hostname, GR with R+N bits, LLGR"),
    R("open-frr8-addpath.hex", F, E, T_OPEN, what="OPEN to ExaBGP with ADD-PATH send/receive (addpath-tx-all-paths)"),
    R("open-frr8-extended-optparams.hex", F, "127.0.0.6", T_OPEN,
      what="OPEN using RFC 9072 extended optional parameters length (0xff marker, 2-octet lengths)",
      note="tshark 4.0.17 does not implement RFC 9072 and misparses this OPEN; decoded by hand from RFC 9072 section 2"),
    R("open-frr8-ipv6-enhe.hex", NB, NA, T_OPEN, what="OPEN over an IPv6 session: extended next hop (IPv4 via IPv6) right after MP IPv4; LLGR with stale time 0 (LLGR not configured)"),
    R("open-gobgp3.hex", G, F, T_OPEN, what="OPEN to FRR: route refresh, FQDN (empty domain), MP IPv4+IPv6, AS4, GR with N bit, LLGR, extended next hop (not configured)"),
    R("open-gobgp3-addpath.hex", G, E, T_OPEN, what="OPEN to ExaBGP with ADD-PATH send/receive"),
    R("open-exabgp4.hex", E, B, T_OPEN, what="OPEN to BIRD: 2-octet AS 65005 with AS4 capability, ENHE, ADD-PATH, GR with R bit, route refresh, enhanced route refresh, extended message; one capability per parameter"),
    R("open-exabgp4-no-as4.hex", E, F, T_OPEN, what="OPEN to FRR without the 4-octet AS capability"),
    # ---------------------------------------------------------- UPDATE IPv4
    R("update-bird2-ipv4-communities.hex", B, F, T_UPDATE, ["| NLRI", "10.2.0.0/24"],
      "IPv4 UPDATE: MED, communities incl. GRACEFUL_SHUTDOWN, route target, large communities, OTC; 2 prefixes"),
    R("update-frr8-ipv4-communities.hex", F, B, T_UPDATE, ["| NLRI", "10.3.0.0/24"],
      "IPv4 UPDATE: MED, communities incl. GRACEFUL_SHUTDOWN, large communities, route target, OTC; 3 prefixes"),
    R("update-gobgp3-ipv4-communities.hex", G, F, T_UPDATE, ["| NLRI", "10.4.0.0/24"],
      "IPv4 UPDATE: MED, communities incl. GRACEFUL_SHUTDOWN, route target, large communities"),
    R("update-frr8-ipv4-aggregate-asset.hex", F, B, T_UPDATE, ["| NLRI", "10.96.0.0/12"],
      "IPv4 aggregate: AS_PATH with AS_SET, AGGREGATOR (4-octet AS), merged communities, OTC"),
    # ---------------------------------------------------------- UPDATE IPv6
    R("update-bird2-ipv6-mp.hex", B, F, T_UPDATE, ["MP_REACH_NLRI IPv6", "NLRI", "2001:db8:2::/48"],
      "IPv6 MP_REACH_NLRI (global next hop) first, extended-length flag, communities, large community, OTC"),
    R("update-frr8-ipv6-mp.hex", F, B, T_UPDATE, ["MP_REACH_NLRI IPv6", "NLRI", "2001:db8:3::/48"],
      "IPv6 MP_REACH_NLRI with IPv4-mapped next hop ::ffff:127.0.0.3, communities, large community, OTC"),
    R("update-gobgp3-ipv6-mp.hex", G, F, T_UPDATE, ["MP_REACH_NLRI IPv6", "NLRI", "2001:db8:4::/48"],
      "IPv6 MP_REACH_NLRI (IPv4-mapped next hop) between COMMUNITIES and LARGE_COMMUNITY (type order)"),
    R("update-bird2-ipv6-linklocal.hex", NA, NB, T_UPDATE, ["MP_REACH_NLRI IPv6 unicast next hop 2001:db8:ab::a + link-local"],
      "IPv6 MP_REACH_NLRI with 32-octet next hop (global + link-local)"),
    R("update-frr8-ipv6-linklocal.hex", NB, NA, T_UPDATE, ["MP_REACH_NLRI IPv6 unicast"],
      "IPv6 MP_REACH_NLRI with 32-octet next hop (global + link-local)"),
    R("update-bird2-ipv4-enhe.hex", NA, NB, T_UPDATE, ["MP_REACH_NLRI IPv4 unicast"],
      "IPv4 route in MP_REACH_NLRI with IPv6 global + link-local next hop (RFC 8950)"),
    R("update-frr8-ipv4-enhe.hex", NB, NA, T_UPDATE, ["MP_REACH_NLRI IPv4 unicast"],
      "IPv4 route in MP_REACH_NLRI with IPv6 global + link-local next hop (RFC 8950)"),
    # --------------------------------------------------------------- ADD-PATH
    R("update-bird2-ipv4-addpath.hex", B, E, T_UPDATE, ["| NLRI", "10.2.0.0/24 path-id"],
      "IPv4 UPDATE with ADD-PATH path identifiers"),
    R("update-gobgp3-ipv4-addpath.hex", G, E, T_UPDATE, ["| NLRI", "10.4.0.0/24 path-id"],
      "IPv4 UPDATE with ADD-PATH path identifier"),
    R("update-gobgp3-ipv6-addpath.hex", G, E, T_UPDATE, ["MP_REACH_NLRI IPv6", "NLRI", "2001:db8:4::/48 path-id"],
      "IPv6 MP_REACH_NLRI with ADD-PATH path identifier"),
    R("update-exabgp4-ipv4-addpath.hex", E, B, T_UPDATE, ["| NLRI", r"re:10\.5\.0\.0/24 path-id 1\b"],
      "IPv4 UPDATE with ADD-PATH path id 1: MED, communities, route target, large community"),
    R("update-exabgp4-ipv6-addpath.hex", E, B, T_UPDATE, ["MP_REACH_NLRI IPv6", "NLRI", r"re:2001:db8:5::/48 path-id 1\b"],
      "IPv6 MP_REACH_NLRI (global next hop, placed last) with ADD-PATH path id"),
    R("update-frr8-ipv4-addpath-as4path.hex", F, E, T_UPDATE, ["| NLRI", "10.3.0.0/24 path-id"],
      "IPv4 UPDATE to a 2-octet-AS peer: AS_PATH [23456] + AS4_PATH, ADD-PATH ids, 3 prefixes"),
    R("update-frr8-ipv6-addpath-as4path.hex", F, E, T_UPDATE, ["MP_REACH_NLRI IPv6", "NLRI", "2001:db8:3::/48 path-id"],
      "IPv6 MP_REACH_NLRI with ADD-PATH ids, AS_TRANS AS_PATH + AS4_PATH"),
    R("update-frr8-ipv4-as4-aggregator.hex", F, E, T_UPDATE, ["| NLRI", "10.96.0.0/12"],
      "IPv4 aggregate to a 2-octet-AS peer: AS_SET of AS_TRANS, AGGREGATOR AS_TRANS + AS4_AGGREGATOR + AS4_PATH"),
    # -------------------------------------------------------------- End-of-RIB
    R("update-bird2-eor-ipv4.hex", B, F, T_UPDATE, ["End-of-RIB marker for IPv4"], "End-of-RIB IPv4 unicast"),
    R("update-bird2-eor-ipv6.hex", B, F, T_UPDATE, ["End-of-RIB marker for IPv6"], "End-of-RIB IPv6 unicast"),
    R("update-frr8-eor-ipv4.hex", F, B, T_UPDATE, ["End-of-RIB marker for IPv4"], "End-of-RIB IPv4 unicast"),
    R("update-frr8-eor-ipv6.hex", F, B, T_UPDATE, ["End-of-RIB marker for IPv6"], "End-of-RIB IPv6 unicast"),
    R("update-gobgp3-eor-ipv4.hex", G, F, T_UPDATE, ["End-of-RIB marker for IPv4"], "End-of-RIB IPv4 unicast"),
    R("update-gobgp3-eor-ipv6.hex", G, F, T_UPDATE, ["End-of-RIB marker for IPv6"], "End-of-RIB IPv6 unicast"),
    R("update-exabgp4-eor-ipv4.hex", E, B, T_UPDATE, ["End-of-RIB marker for IPv4"], "End-of-RIB IPv4 unicast"),
    R("update-exabgp4-eor-ipv6.hex", E, B, T_UPDATE, ["End-of-RIB marker for IPv6"], "End-of-RIB IPv6 unicast"),
    # ------------------------------------------------------------- withdrawals
    R("update-bird2-withdraw-ipv4.hex", B, F, T_UPDATE, ["withdrawn IPv4", "10.2.9.0/24"], "IPv4 withdrawn routes (2 prefixes)"),
    R("update-bird2-withdraw-ipv6.hex", B, F, T_UPDATE, ["MP_UNREACH_NLRI IPv6 unicast withdrawn", "2001:db8:2:900::/56"], "IPv6 MP_UNREACH_NLRI (2 prefixes)"),
    R("update-frr8-withdraw-ipv4.hex", F, B, T_UPDATE, ["withdrawn IPv4", "10.3.9.0/24"], "IPv4 withdrawn routes (2 prefixes)"),
    R("update-frr8-withdraw-ipv6.hex", F, B, T_UPDATE, ["MP_UNREACH_NLRI IPv6 unicast withdrawn", "2001:db8:3:900::/56"], "IPv6 MP_UNREACH_NLRI"),
    R("update-gobgp3-withdraw-ipv4.hex", G, F, T_UPDATE, ["withdrawn IPv4", "10.4.9.0/24"], "IPv4 withdrawn routes"),
    R("update-gobgp3-withdraw-ipv6.hex", G, F, T_UPDATE, ["MP_UNREACH_NLRI IPv6 unicast withdrawn", "2001:db8:4:900::/56"], "IPv6 MP_UNREACH_NLRI"),
    R("update-frr8-withdraw-ipv4-addpath.hex", F, E, T_UPDATE, ["withdrawn IPv4", "10.2.9.0/24 path-id"],
      "IPv4 withdrawn routes with ADD-PATH path identifiers"),
    R("update-frr8-withdraw-ipv6-addpath.hex", F, E, T_UPDATE, ["MP_UNREACH_NLRI IPv6 unicast withdrawn", "2001:db8:2:900::/56 path-id"],
      "IPv6 MP_UNREACH_NLRI with ADD-PATH path identifiers"),
    # ----------------------------------------------------------- NOTIFICATION
    R("notification-frr8-cease-shutdown.hex", F, B, T_NOTIF, ["NOTIFICATION 6/2"],
      "Cease / Administrative Shutdown with shutdown communication (neighbor ... shutdown message)"),
    R("notification-bird2-cease-shutdown.hex", B, G, T_NOTIF, ["NOTIFICATION 6/2"],
      "Cease / Administrative Shutdown with UTF-8 shutdown communication (birdc disable ... \"text\")"),
    R("notification-gobgp3-cease-shutdown.hex", G, F, T_NOTIF, ["NOTIFICATION 6/2"],
      "Cease / Administrative Shutdown with shutdown communication (gobgp neighbor ... shutdown --reason)"),
    R("notification-frr8-cease-hard-reset.hex", F, G, T_NOTIF, ["NOTIFICATION 6/9"],
      "Cease / Hard Reset (RFC 8538) wrapping Cease / Administrative Reset (clear bgp, N bit negotiated)"),
    R("notification-frr8-cease-admin-reset.hex", F, E, T_NOTIF, ["NOTIFICATION 6/4"],
      "Cease / Administrative Reset, no data (clear bgp, no N bit)"),
    R("notification-bird2-cease-admin-reset.hex", B, G, T_NOTIF, ["NOTIFICATION 6/4"],
      "Cease / Administrative Reset, no data (birdc restart)"),
    R("notification-gobgp3-cease-admin-reset.hex", G, B, T_NOTIF, ["NOTIFICATION 6/4"],
      "Cease / Administrative Reset with shutdown communication (gobgp neighbor ... reset --reason)"),
    R("notification-bird2-bad-peer-as.hex", B, "127.0.0.7", T_NOTIF, ["NOTIFICATION 2/2"],
      "OPEN Message Error / Bad Peer AS, data = 2-octet AS from the OPEN"),
    R("notification-frr8-bad-peer-as.hex", F, "127.0.0.7", T_NOTIF, ["NOTIFICATION 2/2"],
      "OPEN Message Error / Bad Peer AS, data = 2-octet AS from the OPEN"),
    R("notification-gobgp3-bad-peer-as.hex", G, "127.0.0.7", T_NOTIF, ["NOTIFICATION 2/2"],
      "OPEN Message Error / Bad Peer AS, no data"),
    R("notification-exabgp4-bad-peer-as.hex", "127.0.0.8", F, T_NOTIF, ["NOTIFICATION 2/2"],
      "OPEN Message Error / Bad Peer AS, data = ASCII text (non-standard)",
      note="RFC 4271 defines no data for Bad Peer AS; BIRD and FRR send the 2-octet AS, ExaBGP sends ASCII text "
           "(tshark 4.0.17 flags it as malformed because it expects a 2-octet AS)"),
    # ---------------------------------------------------------- ROUTE-REFRESH
    R("routerefresh-frr8-ipv4.hex", F, B, T_RR, ["normal route refresh"], "ROUTE-REFRESH IPv4 unicast (clear bgp ... soft in)"),
    R("routerefresh-frr8-ipv6.hex", F, G, T_RR, ["normal route refresh"], "ROUTE-REFRESH IPv6 unicast (clear bgp ipv6 ... soft in)"),
    R("routerefresh-bird2-ipv4.hex", B, F, T_RR, ["IPv4 unicast, normal route refresh"], "ROUTE-REFRESH IPv4 unicast (birdc reload in)"),
    R("routerefresh-bird2-ipv6.hex", B, F, T_RR, ["IPv6 unicast, normal route refresh"], "ROUTE-REFRESH IPv6 unicast (birdc reload in)"),
    R("routerefresh-bird2-borr.hex", B, F, T_RR, ["BoRR"], "enhanced route refresh BoRR, IPv4 unicast"),
    R("routerefresh-bird2-eorr.hex", B, F, T_RR, ["EoRR"], "enhanced route refresh EoRR, IPv4 unicast"),
    R("routerefresh-frr8-borr.hex", F, B, T_RR, ["IPv4 unicast, BoRR"], "enhanced route refresh BoRR, IPv4 unicast"),
    R("routerefresh-frr8-eorr.hex", F, B, T_RR, ["IPv4 unicast, EoRR"], "enhanced route refresh EoRR, IPv4 unicast"),
    R("routerefresh-frr8-borr-ipv6.hex", F, B, T_RR, ["IPv6 unicast, BoRR"], "enhanced route refresh BoRR, IPv6 unicast"),
    R("routerefresh-frr8-eorr-ipv6.hex", F, B, T_RR, ["IPv6 unicast, EoRR"], "enhanced route refresh EoRR, IPv6 unicast"),
    # -------------------------------------------------------------- KEEPALIVE
    R("keepalive-bird2.hex", B, F, T_KA, what="KEEPALIVE"),
    R("keepalive-frr8.hex", F, B, T_KA, what="KEEPALIVE"),
    R("keepalive-gobgp3.hex", G, F, T_KA, what="KEEPALIVE"),
    R("keepalive-exabgp4.hex", E, B, T_KA, what="KEEPALIVE"),
]


def matches(pattern, text):
    if pattern.startswith("re:"):
        return re.search(pattern[3:], text) is not None
    return pattern in text


def duplicate_note(m, msgs):
    """Note if the sender repeated this exact message right after it on the same connection."""
    later = [x for x in msgs if x["stream"] == m["stream"] and x["src"] == m["src"] and x["n"] > m["n"]
             and x.get("file_id") == m.get("file_id")]
    if later and later[0]["bytes"] == m["bytes"] and m["type"] != T_KA:
        return ("the sender transmitted this exact message twice, back to back, on the same TCP connection "
                f"(frames {m['frame']} and {later[0]['frame']} of the capture)")
    return None


def context_line(m):
    if m["type"] != T_UPDATE:
        return None
    ctx = m["ctx"]
    ap = ", ".join(f"{AFI.get(a, a)} {SAFI.get(s, s)}" for a, s in sorted(ctx.addpath))
    return ("decode context: " + ("4-octet AS numbers in AS_PATH/AGGREGATOR (AS4 negotiated)" if ctx.as4
                                  else "2-octet AS numbers in AS_PATH/AGGREGATOR (AS4 NOT negotiated)")
            + "; ADD-PATH path ids: " + (ap if ap else "none (not negotiated for this direction)"))


def main():
    out = sys.argv[1]
    msgs = []
    for i, path in enumerate(sys.argv[2:]):
        for m in load(path):
            m["file_id"] = i
            msgs.append(m)
    index = []
    missing = []
    for r in RULES:
        cands = [m for m in msgs if m["src"] == r["src"] and m["dst"] == r["dst"] and m["type"] == r["type"]
                 and m["open_pair"] | (m["type"] in (T_OPEN, T_NOTIF))
                 and all(matches(h, m["summary"]) for h in r["has"])]
        if len(cands) <= r["nth"]:
            missing.append(r["file"])
            continue
        m = cands[r["nth"]]
        lines, summary = annotate(m["bytes"], m["ctx"])
        date = datetime.datetime.fromtimestamp(m["time"], datetime.timezone.utc).strftime("%Y-%m-%d")
        src, dst = m["src"], m["dst"]
        header = [f"captured from {WHO[src]} on {where(src)} ({src} -> {dst} {WHO[dst]}), {TSHARK}, {date}",
                  summary]
        c = context_line(m)
        if c:
            header.append(c)
        for note in (r["note"], duplicate_note(m, msgs)):
            if note:
                header.append("note: " + note)
        with open(os.path.join(out, r["file"]), "w") as fh:
            fh.write(render(lines, header))
        index.append((r["file"], WHO[src], f"{src} → {dst} ({WHO[dst]})", r["what"]))
    write_readme_table(out, index)
    known = {r["file"] for r in RULES}
    stale = sorted(f for f in os.listdir(out) if f.endswith(".hex") and f not in known)
    if stale:
        print("WARNING: .hex files not produced by any rule: " + ", ".join(stale), file=sys.stderr)
    print(f"wrote {len(index)} vectors to {out}", file=sys.stderr)
    if missing:
        print("NOT FOUND in capture: " + ", ".join(missing), file=sys.stderr)
        sys.exit(1)


BEGIN, END = "<!-- vectors:begin -->", "<!-- vectors:end -->"


def write_readme_table(out, index):
    rows = ["| file | source (exact version) | direction | contents |", "|---|---|---|---|"]
    for f, who, d, what in index:
        rows.append(f"| `{f}` | {who} | {d} | {what} |")
    table = BEGIN + "\n" + "\n".join(rows) + "\n" + END
    path = os.path.join(out, "README.md")
    text = open(path).read() if os.path.exists(path) else f"# BGP golden vectors\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    pre, rest = text.split(BEGIN, 1)
    post = rest.split(END, 1)[1]
    with open(path, "w") as fh:
        fh.write(pre + table + post)


if __name__ == "__main__":
    main()
