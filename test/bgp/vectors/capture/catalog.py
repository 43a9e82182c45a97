#!/usr/bin/env python3
"""Decode every message of messages.jsonl with its session context.

Usage: catalog.py messages.jsonl            -> one summary line per message
Library: load(path) -> list of dicts with extra keys "bytes", "ctx", "summary".
"""
import json
import sys

sys.dont_write_bytecode = True  # keep the capture directory free of __pycache__

from bgpdecode import Ctx, annotate, session_ctx


def load(path):
    msgs = [json.loads(l) for l in open(path)]
    opens = {}   # (stream, src) -> OPEN bytes
    for m in msgs:
        m["bytes"] = bytes.fromhex(m["hex"])
        if m["type"] == 1:
            opens.setdefault((m["stream"], m["src"]), m["bytes"])
    for m in msgs:
        mine, theirs = opens.get((m["stream"], m["src"])), opens.get((m["stream"], m["dst"]))
        m["ctx"] = session_ctx(mine, theirs) if mine and theirs else Ctx()
        m["open_pair"] = bool(mine and theirs)
        _, m["summary"] = annotate(m["bytes"], m["ctx"])
    return msgs


if __name__ == "__main__":
    for m in load(sys.argv[1]):
        ap = ",".join(f"{a}/{s}" for a, s in sorted(m["ctx"].addpath))
        print(f'{m["n"]:4d} {m["time"]:.3f} {m["src"]:>9}->{m["dst"]:<9} s{m["stream"]:<3} '
              f'{"AS4" if m["ctx"].as4 else "AS2"} ap[{ap}] {m["summary"]}')
