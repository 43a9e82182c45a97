#!/usr/bin/env python3
"""Check every vector file in a directory.

Usage: verify.py [VECTORDIR] [--no-tshark]

1. Format, exactly as the test helper reads it: delete '#' to end of line and
   all whitespace; the rest must be hex; marker = 16 x ff; the length field
   (bytes 16-17) = byte count; type 1..5; every hex line carries a '#' comment.
2. Our decoder (bgpdecode.py) must consume the message exactly and reproduce
   the file's field lines (the file is regenerated from the same bytes).
3. Independent cross-check with tshark (Wireshark's BGP dissector): each vector
   is wrapped into a one-packet pcap (text2pcap, TCP port 179) and decoded with
   `tshark -V`; then message type/length, OPEN header fields and capability
   codes, path attribute flags and type codes (in order), prefixes with path
   ids, communities, large communities, AS numbers, next hops, MED,
   NOTIFICATION codes and shutdown text, ROUTE-REFRESH AFI/subtype/SAFI are
   compared with our annotations, and tshark must report no malformed data.
"""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the capture directory free of __pycache__
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bgpdecode import Ctx, annotate  # noqa: E402

TSHARK_SKIP = {  # dissector limitations of tshark 4.0.x, checked by hand instead
    "open-frr8-extended-optparams.hex": "tshark 4.0 has no RFC 9072 support",
}


TSHARK_MALFORMED_OK = {  # real-world data that tshark's dissector does not expect
    "notification-exabgp4-bad-peer-as.hex": "ExaBGP puts ASCII text where tshark expects a 2-octet AS",
}


def read_vector(path):
    text = open(path, encoding="utf-8").read()
    problems = []
    for ln, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0].strip()
        if code and "#" not in line:
            problems.append(f"line {ln}: hex without a comment")
    stripped = re.sub(r"\s+", "", re.sub(r"#[^\n]*", "", text))
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", stripped):
        problems.append("not valid hex after stripping comments/whitespace")
        return None, text, problems
    b = bytes.fromhex(stripped)
    if b[:16] != b"\xff" * 16:
        problems.append("marker is not 16 x ff")
    if len(b) < 19 or int.from_bytes(b[16:18], "big") != len(b):
        problems.append(f"length field {int.from_bytes(b[16:18], 'big')} != byte count {len(b)}")
    if len(b) >= 19 and b[18] not in (1, 2, 3, 4, 5):
        problems.append(f"unknown type {b[18]}")
    return b, text, problems


def ctx_from_header(text):
    ctx = Ctx()
    m = re.search(r"^# decode context: (.*)$", text, re.M)
    if m:
        c = m.group(1)
        ctx.as4 = "AS4 NOT negotiated" not in c
        ap = c.split("ADD-PATH path ids: ", 1)[1]
        for name, key in (("IPv4 unicast", (1, 1)), ("IPv6 unicast", (2, 1))):
            if name in ap:
                ctx.addpath.add(key)
    return ctx


def tshark_decode(b):
    with tempfile.TemporaryDirectory() as d:
        txt, pcap = os.path.join(d, "v.txt"), os.path.join(d, "v.pcap")
        with open(txt, "w") as fh:
            for i in range(0, len(b), 16):
                fh.write("%06x " % i + " ".join("%02x" % x for x in b[i:i + 16]) + "\n")
        subprocess.run(["text2pcap", "-q", "-T", "179,40000", txt, pcap], check=True,
                       capture_output=True)
        out = subprocess.run(["tshark", "-r", pcap, "-V", "-O", "bgp",
                              "-o", "bgp.asn_len:0"],  # 0 = auto-detect
                             capture_output=True, text=True, check=True).stdout
    return out[out.index("Border Gateway Protocol"):]


def facts_from_ours(lines):
    f = {k: [] for k in ("attr", "prefix", "comm", "large", "asn", "nh", "med", "cap")}
    pending_pid = None
    for hx, c in lines:
        m = re.match(r"attr flags (0x[0-9a-f]{2})", c)
        if m:
            f["attr"].append(m.group(1))
        m = re.match(r"attr type (\d+) =", c)
        if m:
            f["attr"].append(int(m.group(1)))
        m = re.match(r"path identifier (\d+)", c)
        if m:
            pending_pid = int(m.group(1))
        m = re.match(r"(?:NLRI|withdrawn) (\S+/\d+)", c)
        if m:
            f["prefix"].append((m.group(1), pending_pid))
            pending_pid = None
        m = re.match(r"community (\d+:\d+)", c)
        if m:
            f["comm"].append(m.group(1))
        m = re.match(r"large community (\S+)", c)
        if m:
            f["large"].append(m.group(1))
        m = re.match(r"(?:aggregator )?AS (\d+)", c)
        if m:
            f["asn"].append(int(m.group(1)))
        m = re.match(r"next hop(?: \((?:global|link-local)\))? ([0-9a-f.:]+[0-9a-f])(?:$| )", c)
        if m:
            f["nh"].append(m.group(1))
        m = re.match(r"MED (\d+)", c)
        if m:
            f["med"].append(int(m.group(1)))
        m = re.match(r"capability code (\d+)", c)
        if m:
            f["cap"].append(int(m.group(1)))
    return f


def facts_from_tshark(t):
    f = {k: [] for k in ("attr", "prefix", "comm", "large", "asn", "nh", "med", "cap")}
    for line in t.splitlines():
        s = line.strip()
        m = re.match(r"Flags: (0x[0-9a-f]{2}),", s)
        if m:
            f["attr"].append(m.group(1))
        m = re.match(r"Type Code: .* \((\d+)\)$", s)
        if m:
            f["attr"].append(int(m.group(1)))
        m = re.match(r"^(\S+/\d+)(?: PathId (\d+))?$", s)
        if m:
            f["prefix"].append((m.group(1), int(m.group(2)) if m.group(2) else None))
        m = re.match(r"Community: (\d+:\d+)", s)
        if m:
            f["comm"].append(m.group(1))
        m = re.match(r"Community Well-known: .*\(0x([0-9a-f]{8})\)", s)
        if m:
            v = int(m.group(1), 16)
            f["comm"].append(f"{v >> 16}:{v & 0xFFFF}")
        m = re.match(r"Large communities: (\d+:\d+:\d+)$", s)
        if m:
            f["large"].append(m.group(1))
        m = re.match(r"AS[24]: (\d+)", s)
        if m:
            f["asn"].append(int(m.group(1)))
        m = re.match(r"(?:Aggregator AS|AS Number|AS4 aggregator AS): (\d+)", s)
        if m:
            f["asn"].append(int(m.group(1)))
        m = re.match(r"(?:Next hop|IPv6 Address|Link-local Address): ([0-9a-f.:]+)\s*$", s)
        if m:
            f["nh"].append(m.group(1))
        m = re.match(r"Multiple exit discriminator: (\d+)", s)
        if m:
            f["med"].append(int(m.group(1)))
    return f


def crosscheck(name, b, lines, summary):
    t = tshark_decode(b)
    errs = []
    if re.search(r"Malformed|Expert Info \(Error", t) and name not in TSHARK_MALFORMED_OK:
        errs.append("tshark reports malformed data")
    m = re.search(r"Length: (\d+)\n\s+Type: .*\((\d)\)", t)
    if not m or int(m.group(1)) != len(b) or int(m.group(2)) != b[18]:
        errs.append("tshark header length/type differ")
    ours, theirs = facts_from_ours(lines), facts_from_tshark(t)
    typ = b[18]
    keys = {1: ["cap"], 2: ["attr", "prefix", "comm", "large", "asn", "nh", "med"]}.get(typ, [])
    if typ == 1:
        # OPEN: compare header fields and the ordered list of capability codes
        asn = int.from_bytes(b[20:22], "big")
        for pat, val in ((r"My AS: (\d+)", asn), (r"Hold Time: (\d+)", int.from_bytes(b[22:24], "big"))):
            mm = re.search(pat, t)
            if not mm or int(mm.group(1)) != val:
                errs.append(f"tshark {pat} differs")
        # capability entries are the "Type:" lines nested 16 spaces deep
        theirs["cap"] = [int(x) for x in re.findall(r"\n {16}Type: [^\n]*\((\d+)\)(?=\n)", t)]
    for k in keys:
        if k == "nh":   # tshark prints an MP next hop in more than one line; compare as sets
            if set(ours[k]) != set(theirs[k]):
                errs.append(f"next hops: ours {sorted(set(ours[k]))} tshark {sorted(set(theirs[k]))}")
            continue
        if ours[k] != theirs[k]:
            errs.append(f"{k}: ours {ours[k]} tshark {theirs[k]}")
    if typ == 3:
        mm = re.search(r"Major error Code: .*\((\d+)\)\n\s+Minor error Code.*\((\d+)\)", t)
        if not mm or (int(mm.group(1)), int(mm.group(2))) != (b[19], b[20]):
            errs.append("tshark notification code/subcode differ")
        mm = re.search(r"Shutdown Communication: (.*)", t)
        if mm and f'"{mm.group(1).strip()}"' not in summary:
            errs.append("shutdown communication text differs")
    if typ == 5:
        mm = re.search(r"AFI\): .*\((\d+)\)\n\s+Subtype: .*\((\d+)\)\n\s+Subsequent.*\((\d+)\)", t)
        if not mm or (int(mm.group(1)), int(mm.group(2)), int(mm.group(3))) != (
                int.from_bytes(b[19:21], "big"), b[21], b[22]):
            errs.append("tshark ROUTE-REFRESH fields differ")
    return errs


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    d = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    use_tshark = "--no-tshark" not in sys.argv
    files = sorted(f for f in os.listdir(d) if f.endswith(".hex"))
    bad = 0
    for f in files:
        b, text, problems = read_vector(os.path.join(d, f))
        if b is not None and not problems:
            try:
                lines, summary = annotate(b, ctx_from_header(text))
            except Exception as e:  # noqa: BLE001
                problems.append(f"decoder failed: {e!r}")
            else:
                body = [ln.split("#", 1) for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
                got = [(h.strip(), c.strip()) for h, c in body]
                if got != [(h, c) for h, c in lines]:
                    problems.append("field lines differ from a fresh decode")
                if f"# {summary}\n" not in text:
                    problems.append("summary line differs from a fresh decode")
                if use_tshark and f not in TSHARK_SKIP:
                    problems += crosscheck(f, b, lines, summary)
        status = "ok" if not problems else "FAIL"
        extra = f" (tshark skipped: {TSHARK_SKIP[f]})" if f in TSHARK_SKIP and use_tshark and not problems else ""
        print(f"{status:4} {f} ({len(b) if b else '?'} bytes){extra}")
        for p in problems:
            print(f"       - {p}")
        bad += bool(problems)
    print(f"{len(files) - bad}/{len(files)} vectors ok")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
