#!/usr/bin/env python3
"""A measuring loop for bench/dns_bench.py; prints one JSON line {"ns_per_op": ...}.

  dns_loop.py RESOLV_CONF resolve-connect NAME PORT N   getaddrinfo(NAME) + TCP connect + close
  dns_loop.py RESOLV_CONF udp ADDR PORT N               N datagrams of 64 bytes (no DNS)

RESOLV_CONF is bind-mounted over /etc/resolv.conf in a private mount namespace first.
"""
import ctypes
import json
import socket
import sys
import time


def private_resolv_conf(path):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x00020000) != 0 or \
            libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None) != 0 or \
            libc.mount(path.encode(), b"/etc/resolv.conf", None, 0x1000, None) != 0:
        raise OSError(ctypes.get_errno(), "private resolv.conf")


def main():
    private_resolv_conf(sys.argv[1])
    what, target, port, n = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if what == "resolve-connect":
        t0 = time.perf_counter_ns()
        for _ in range(n):
            addr = socket.getaddrinfo(target, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
            s = socket.socket()
            s.connect(addr)
            s.close()
        t1 = time.perf_counter_ns()
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((target, port))
        buf = b"x" * 64
        t0 = time.perf_counter_ns()
        for _ in range(n):
            s.send(buf)
        t1 = time.perf_counter_ns()
    print(json.dumps({"ns_per_op": (t1 - t0) / n}), flush=True)


if __name__ == "__main__":
    main()
