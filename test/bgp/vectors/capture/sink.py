#!/usr/bin/env python3
"""Passive TCP sink used only to capture an OPEN on loopback.

Accepts connections on ADDR:PORT, reads whatever the peer sends for a few
seconds (its OPEN), then closes the connection. It never sends anything, so
the peer stays in OpenSent; that is enough for capturing the peer's OPEN.
Usage: sink.py ADDR PORT
"""
import socket
import sys

addr, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(4)
while True:
    conn, peer = srv.accept()
    conn.settimeout(3)
    got = b""
    try:
        while True:
            chunk = conn.recv(65535)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    print(f"sink: {peer[0]} sent {len(got)} bytes: {got.hex()}", flush=True)
    conn.close()
