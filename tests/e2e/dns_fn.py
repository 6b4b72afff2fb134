#!/usr/bin/env python3
"""A function that reaches hosts by name, for dns_e2e_test.py (run with faasguardctl run).

argv[1]: a resolv.conf, bind-mounted over /etc/resolv.conf in a private mount namespace of
this process (as a container's own resolv.conf), so getaddrinfo() asks the test's DNS server
through glibc's normal resolver path. Then one command per line on stdin, one JSON line out:
  resolve NAME [4|6]       getaddrinfo only
  connect NAME PORT [4|6]  getaddrinfo, then a TCP connect to the first address
  connectip ADDR PORT      a TCP connect to an address (no resolution)
"""
import ctypes
import errno
import json
import os
import socket
import sys

CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000


def private_resolv_conf(path):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    if libc.mount(path.encode(), b"/etc/resolv.conf", None, MS_BIND, None) != 0:
        raise OSError(ctypes.get_errno(), "bind mount resolv.conf")


def family(arg):
    return socket.AF_INET6 if arg == "6" else socket.AF_INET


def resolve(name, fam):
    infos = socket.getaddrinfo(name, None, fam, socket.SOCK_STREAM)
    return [i[4][0] for i in infos]


def connect(addr, port, fam):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((addr, port))
        return {"ok": True, "addr": addr}
    except OSError as e:
        return {"ok": False, "addr": addr, "errno": errno.errorcode.get(e.errno, str(e.errno))}
    finally:
        s.close()


def handle(words):
    cmd = words[0]
    if cmd in ("resolve", "connect"):
        fam = family(words[3] if cmd == "connect" and len(words) > 3 else
                     words[2] if cmd == "resolve" and len(words) > 2 else "4")
        try:
            addrs = resolve(words[1], fam)
        except socket.gaierror as e:
            return {"ok": False, "gai": e.errno, "error": str(e)}
        except OSError as e:
            return {"ok": False, "errno": errno.errorcode.get(e.errno, str(e.errno))}
        if cmd == "resolve":
            return {"ok": True, "addrs": addrs}
        r = connect(addrs[0], int(words[2]), fam)
        r["addrs"] = addrs
        return r
    if cmd == "connectip":
        fam = socket.AF_INET6 if ":" in words[1] else socket.AF_INET
        return connect(words[1], int(words[2]), fam)
    return {"ok": False, "error": f"unknown command {cmd}"}


def main():
    private_resolv_conf(sys.argv[1])
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        print(json.dumps(handle(words)), flush=True)


if __name__ == "__main__":
    main()
