#!/usr/bin/env python3
"""Split the BGP byte streams in a pcap into individual BGP messages.

Usage: extract.py CAPTURE.pcap OUT.jsonl

tshark gives the TCP payload of every segment; the payloads of each TCP
stream direction are concatenated in sequence order (retransmitted bytes are
dropped) and cut into messages using the 2-byte length at offset 16 of each
BGP header (one segment may carry several messages, or part of one).
Each output line is a JSON object:
  {"n": index, "frame": frame number completing the message, "time": epoch,
   "src": "127.0.0.2", "sport": 179, "dst": ..., "dport": ..., "stream": tcp
   stream id, "type": BGP type, "hex": "ffff..."}
"""
import json
import subprocess
import sys

pcap, out = sys.argv[1], sys.argv[2]
fields = ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "tcp.srcport",
          "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.stream", "tcp.seq_raw", "tcp.payload"]
cmd = ["tshark", "-r", pcap, "-Y", "tcp.len > 0", "-T", "fields", "-E", "separator=\t"]
for f in fields:
    cmd += ["-e", f]
rows = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()

flows = {}   # (stream, src, sport) -> state
msgs = []
for row in rows:
    frame, t, s4, s6, sport, d4, d6, dport, stream, seq, payload = row.split("\t")
    src, dst = s4 or s6, d4 or d6
    key = (int(stream), src, int(sport))
    st = flows.setdefault(key, {"next": None, "buf": b""})
    seq = int(seq)
    data = bytes.fromhex(payload)
    if st["next"] is not None:
        if seq + len(data) <= st["next"]:
            continue                      # pure retransmission
        if seq < st["next"]:
            data = data[st["next"] - seq:]  # partial overlap
            seq = st["next"]
        if seq > st["next"]:
            sys.exit(f"gap in stream {key} at frame {frame}; cannot reassemble")
    st["next"] = seq + len(data)
    st["buf"] += data
    buf = st["buf"]
    while len(buf) >= 19:
        if buf[:16] != b"\xff" * 16:
            sys.exit(f"bad marker in stream {key} at frame {frame}")
        length = int.from_bytes(buf[16:18], "big")
        if len(buf) < length:
            break
        m, buf = buf[:length], buf[length:]
        msgs.append({"n": len(msgs), "frame": int(frame), "time": float(t), "src": src,
                     "sport": int(sport), "dst": dst, "dport": int(dport),
                     "stream": int(stream), "type": m[18], "hex": m.hex()})
    st["buf"] = buf

with open(out, "w") as fh:
    for m in msgs:
        fh.write(json.dumps(m) + "\n")
print(f"{len(msgs)} BGP messages from {len(flows)} flows -> {out}", file=sys.stderr)
