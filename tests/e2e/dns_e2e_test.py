#!/usr/bin/env python3
"""e2e (root): egress by DNS name, learned and enforced in the kernel, with a real DNS server.

dnsmasq (Debian's dnsmasq-base) serves a test zone on a loopback address; the test rewrites
its hosts file (SIGHUP) between learning and enforcing. Two functions run under
`faasguardctl run`, each in a private mount namespace with its own resolv.conf (a search
domain and ndots:5, as a Kubernetes pod has), and resolve through glibc's getaddrinfo().

Shown here: named egress items (CNAME, A and AAAA, search-domain expansions, NXDOMAIN) are
learned with the address only as evidence; under enforce a rotated answer works from the first
connect after the first resolution; a direct address, an unlearned name's address and a query
for an unlearned name are refused; function B's resolution does not open an address for A;
`profile accept` adds the name; all of it holds with the agent SIGKILLed.
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import AGENT, CTL, PYTHON, AgentTestCase, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ZONE = "fg.test"


class DnsServer:
    """dnsmasq on 127.53.x.y:53, answering from a hosts file the test rewrites."""

    def __init__(self, tmp):
        self.addr = f"127.53.{random.randint(1, 254)}.{random.randint(1, 254)}"
        self.hosts = os.path.join(tmp, "dns-hosts")
        self.log = os.path.join(tmp, "dnsmasq.log")
        self.conf = os.path.join(tmp, "dnsmasq.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "port=53", f"listen-address={self.addr}", "bind-interfaces", "no-resolv",
                "no-hosts", "no-poll", f"addn-hosts={self.hosts}", f"local=/{ZONE}/",
                "local-ttl=5", f"cname=alias.{ZONE},api.{ZONE}", "log-queries",
                f"log-facility={self.log}", "user=root", "pid-file=", ""]))
        self.proc = None

    def set_hosts(self, records):
        with open(self.hosts + ".new", "w") as f:
            for name, addr in records.items():
                f.write(f"{addr} {name}\n")
        os.rename(self.hosts + ".new", self.hosts)
        if self.proc:
            before = self.logs().count("read " + self.hosts)
            self.proc.send_signal(signal.SIGHUP)  # re-reads the hosts file, clears the cache
            wait_for(lambda: self.logs().count("read " + self.hosts) > before,
                     what="dnsmasq re-read its hosts")

    def start(self):
        self.proc = subprocess.Popen(["dnsmasq", "-k", "-C", self.conf])
        wait_for(lambda: "read " + self.hosts in self.logs(), what="dnsmasq up")
        return self

    def logs(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def queried(self, name):
        return f"] {name} from" in self.logs()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Target:
    """One TCP listener on [::]:port (IPv4 too): counts the connections per local address."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.sock.bind(("::", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.hits = {}
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            local = c.getsockname()[0].removeprefix("::ffff:")
            self.hits[local] = self.hits.get(local, 0) + 1
            c.close()

    def close(self):
        self.sock.close()


class Function:
    """dns_fn.py under `faasguardctl run`, driven one command at a time over its stdin."""

    def __init__(self, test, agent, name, resolv_conf):
        self.name = name
        self.proc = subprocess.Popen(
            [CTL, "--socket", agent.socket, "run", "--function", name, "--", PYTHON,
             os.path.join(HERE, "dns_fn.py"), resolv_conf],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        test.procs.append(self.proc)
        first = self.proc.stdout.readline()
        if "ready" not in first:
            raise AssertionError(f"{name} did not start: {first!r}")

    def do(self, *words):
        self.proc.stdin.write(" ".join(str(w) for w in words) + "\n")
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"{self.name} exited ({self.proc.poll()}) on {words}")
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        self.proc.stdout.close()


def ok(r):
    return r.get("ok") is True


def eperm(r):
    return r.get("ok") is False and r.get("errno") == "EPERM"


class DnsE2E(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.pins = f"/sys/fs/bpf/fg-dns-{os.getpid()}-{time.time_ns()}"
        self.dns = DnsServer(self.tmp)
        self.dns.set_hosts(self.records("127.0.1.10"))
        self.dns.start()
        self.target = Target()
        self.resolv = os.path.join(self.tmp, "resolv.conf")
        with open(self.resolv, "w") as f:
            f.write(f"nameserver {self.dns.addr}\nsearch svc.{ZONE}\n"
                    "options ndots:5 attempts:1 timeout:2\n")
        self.a = self.agent(extra=["--bpf-pin-dir", self.pins]).start()
        self.fa = Function(self, self.a, "dns-a", self.resolv)
        self.fb = Function(self, self.a, "dns-b", self.resolv)

    def tearDown(self):
        for f in (self.fa, self.fb):
            f.close()
        self.target.close()
        self.dns.stop()
        super().tearDown()
        r = subprocess.run([AGENT, "--bpf-pin-dir", self.pins, "--cleanup"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    @staticmethod
    def records(api):
        return {f"api.{ZONE}": api, f"v6.{ZONE}": "::1", f"peek.{ZONE}": "127.0.1.60",
                f"other.{ZONE}": "127.0.1.20", f"db.svc.{ZONE}": "127.0.1.40"}

    def profile(self, fn):
        r = self.a.ctl("profile", "export", f"default/{fn}")
        return json.loads(r.stdout)

    def section(self, fn):
        return self.profile(fn)["containers"][0]

    def learn(self):
        P = self.target.port
        for _ in range(2):
            for r in (self.fa.do("connect", f"api.{ZONE}", P),
                      self.fa.do("connect", f"alias.{ZONE}", P),
                      self.fa.do("connect", f"v6.{ZONE}", P, 6),
                      self.fa.do("connect", "db", P),  # db.svc.fg.test through the search list
                      self.fa.do("connectip", "127.0.1.50", P),  # an address from config
                      self.fa.do("resolve", f"peek.{ZONE}"),  # resolved, never reached
                      self.fb.do("connect", f"api.{ZONE}", P)):
                self.assertTrue(ok(r), r)
            r = self.fa.do("resolve", f"nope.{ZONE}")
            self.assertFalse(ok(r), r)  # NXDOMAIN

        def learned():
            c = self.section("dns-a")
            named = {(n["name"], n.get("port")) for n in c.get("namedEgress", [])}
            queries = {q["name"] for q in c.get("dnsQueries", [])}
            return ({(f"api.{ZONE}", P), (f"alias.{ZONE}", P), (f"v6.{ZONE}", P),
                     (f"db.svc.{ZONE}", P)} <= named and f"nope.{ZONE}" in queries
                    and f"peek.{ZONE}" in queries)
        wait_for(learned, timeout=30, what="named egress learned")
        wait_for(lambda: any(n["name"] == f"api.{ZONE}"
                             for n in self.section("dns-b").get("namedEgress", [])),
                 what="B learned api")

    def mode(self, fn, mode):
        r = self.a.ctl("mode", f"default/{fn}", mode)
        self.assertIn(f"-> {mode}", r.stdout)

    def violations(self, fn):
        out = json.loads(self.a.ctl("violations", f"default/{fn}", "--limit", "1000", "-o",
                                    "json").stdout)
        return out.get("violations", [])

    # ------------------------------------------------------------------------------------

    def test_learns_hosts_by_name_with_addresses_as_evidence(self):
        self.learn()
        P = self.target.port
        c = self.section("dns-a")
        named = {(n["name"], n["protocol"], n.get("port")): n for n in c["namedEgress"]}
        api = named[(f"api.{ZONE}", "PROTOCOL_TCP", P)]
        self.assertEqual(api["addresses"], ["127.0.1.10"])
        # A CNAME's answer is the name the function asked for; AAAA answers are bound too.
        self.assertIn((f"alias.{ZONE}", "PROTOCOL_TCP", P), named)
        self.assertEqual(named[(f"v6.{ZONE}", "PROTOCOL_TCP", P)]["addresses"], ["::1"])
        self.assertIn((f"db.svc.{ZONE}", "PROTOCOL_TCP", P), named)
        # Resolved destinations are not address items; an address from configuration is.
        egress = {(e["address"], e.get("port")) for e in c.get("egress", [])}
        self.assertIn(("127.0.1.50", P), egress)
        for addr in ("127.0.1.10", "::1", "127.0.1.40"):
            self.assertNotIn((addr, P), egress)
        # The names queried, with their types: search-domain expansions and NXDOMAIN included.
        q = {x["name"]: x for x in c["dnsQueries"]}
        self.assertIn("A", q[f"api.{ZONE}"]["types"])
        self.assertIn("AAAA", q[f"v6.{ZONE}"]["types"])
        self.assertTrue(q[f"nope.{ZONE}"].get("nxdomain"), q[f"nope.{ZONE}"])
        self.assertTrue(q[f"api.{ZONE}.svc.{ZONE}"].get("nxdomain"))  # ndots:5 tried it first
        self.assertIn(f"db.svc.{ZONE}", q)
        self.assertFalse(q[f"db.svc.{ZONE}"].get("nxdomain", False))
        # profile show names them.
        show = self.a.ctl("profile", "show", "default/dns-a").stdout
        self.assertIn(f"api.{ZONE}:{P}", show)
        self.assertIn("127.0.1.10", show)
        self.assertIn(f"nope.{ZONE}", show)
        self.assertIn("NXDOMAIN", show)
        # profile diff names what a document lacks: the agent's profile has these two.
        doc = self.profile("dns-a")
        sec = doc["containers"][0]
        sec["namedEgress"] = [n for n in sec["namedEgress"] if n["name"] != f"alias.{ZONE}"]
        sec["dnsQueries"] = [x for x in sec["dnsQueries"] if x["name"] != f"nope.{ZONE}"]
        path = os.path.join(self.tmp, "dns-a.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        r = self.a.ctl("profile", "diff", "default/dns-a", path, check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"alias.{ZONE}:{P} (by name)", r.stdout)
        self.assertIn(f"nope.{ZONE}", r.stdout)
        self.assertNotIn("127.0.1.10", r.stdout)  # evidence is no item
        # B learned its own; A's names are not in B's profile.
        b = {n["name"] for n in self.section("dns-b").get("namedEgress", [])}
        self.assertEqual(b, {f"api.{ZONE}"})

    def test_answers_over_tcp_bind_too(self):
        """glibc's `options use-vc`: queries and answers over TCP (as after a truncated UDP
        answer). Learned as a named item, and enforced by name after a rotation."""
        tcp_resolv = os.path.join(self.tmp, "resolv-tcp.conf")
        with open(tcp_resolv, "w") as f:
            f.write(f"nameserver {self.dns.addr}\noptions use-vc attempts:1 timeout:2\n")
        fc = Function(self, self.a, "dns-tcp", tcp_resolv)
        try:
            P = self.target.port
            for _ in range(2):
                self.assertTrue(ok(fc.do("connect", f"api.{ZONE}", P)))
            wait_for(lambda: any(n["name"] == f"api.{ZONE}"
                                 for n in self.section("dns-tcp").get("namedEgress", [])),
                     what="named egress learned over TCP")
            self.assertNotIn("127.0.1.10", {e["address"] for e in
                                            self.section("dns-tcp").get("egress", [])})
            self.mode("dns-tcp", "enforce")
            self.dns.set_hosts(self.records("127.0.1.13"))
            r = fc.do("connect", f"api.{ZONE}", P)
            self.assertTrue(ok(r), r)
            self.assertEqual(r["addr"], "127.0.1.13")
            self.assertTrue(eperm(fc.do("connectip", "127.0.1.99", P)))
        finally:
            fc.close()

    def test_enforce_by_name_rotation_isolation_and_agent_absent(self):
        self.learn()
        P = self.target.port
        self.mode("dns-a", "enforce")
        self.mode("dns-b", "enforce")

        # The answer rotates. B resolves the new address first: that opens nothing for A.
        self.dns.set_hosts(self.records("127.0.1.11"))
        r = self.fb.do("resolve", f"api.{ZONE}")
        self.assertEqual(r.get("addrs"), ["127.0.1.11"], r)
        r = self.fa.do("connectip", "127.0.1.11", P)
        self.assertTrue(eperm(r), r)
        # A's own first resolution of the rotated name, and the connect right after it.
        r = self.fa.do("connect", f"api.{ZONE}", P)
        self.assertTrue(ok(r), r)
        self.assertEqual(r["addr"], "127.0.1.11")
        self.assertTrue(ok(self.fa.do("connect", f"alias.{ZONE}", P)))
        self.assertTrue(ok(self.fa.do("connect", f"v6.{ZONE}", P, 6)))
        self.assertTrue(ok(self.fa.do("connect", "db", P)))
        self.assertTrue(ok(self.fa.do("connectip", "127.0.1.50", P)))
        # The allowed name on a port never learned: refused.
        self.assertTrue(eperm(self.fa.do("connect", f"api.{ZONE}", P + 1 if P < 65535 else 1)))

        # Direct-address exfiltration.
        self.assertTrue(eperm(self.fa.do("connectip", "127.0.1.99", P)))
        # A name A only resolved: the query is allowed, the connect is not.
        r = self.fa.do("connect", f"peek.{ZONE}", P)
        self.assertTrue(eperm(r), r)
        # A query for a name never learned never reaches the server.
        r = self.fa.do("connect", f"other.{ZONE}", P)
        self.assertFalse(ok(r), r)
        time.sleep(0.3)
        self.assertFalse(self.dns.queried(f"other.{ZONE}"), self.dns.logs()[-2000:])
        self.assertNotIn("127.0.1.99", self.target.hits)
        self.assertNotIn("127.0.1.60", self.target.hits)
        self.assertNotIn("127.0.1.20", self.target.hits)

        def query_refused():
            return [v for v in self.violations("dns-a")
                    if v["kind"] == "dns" and f"other.{ZONE}" in v["attempted"]]
        try:
            wait_for(query_refused, what="the query's violation")
        except AssertionError:
            self.fail(f"no dns violation: {self.violations('dns-a')}")
        q = query_refused()[0]
        self.assertEqual(q["action"], "denied")
        self.assertTrue(q["attempted"].startswith(f"query A other.{ZONE}"), q)
        self.assertTrue(q["dnsQuery"]["name"].startswith(f"other.{ZONE}"), q)
        vs = self.violations("dns-a")
        peek = [v for v in vs if v["kind"] == "egress" and f"peek.{ZONE}" in v["attempted"]]
        self.assertTrue(peek, vs)  # reported with the name the address came from
        self.assertEqual(peek[0]["action"], "denied")
        self.assertEqual(peek[0]["dnsEgress"]["name"], f"peek.{ZONE}")
        self.assertEqual(peek[0]["attempted"], f"tcp peek.{ZONE}:{P} (127.0.1.60)")
        direct = [v for v in vs if v["kind"] == "egress" and "127.0.1.99" in v["attempted"]]
        self.assertTrue(direct, vs)

        # Accepting the refused connect adds the name, not the address.
        self.a.ctl("profile", "accept", "default/dns-a", peek[0]["id"])
        c = self.section("dns-a")
        self.assertIn(f"peek.{ZONE}", {n["name"] for n in c["namedEgress"]})
        self.assertNotIn("127.0.1.60", {e["address"] for e in c.get("egress", [])})
        wait_for(lambda: ok(self.fa.do("connect", f"peek.{ZONE}", P)), what="peek allowed")

        # No agent: the kernel alone keeps it all.
        dns_before = sum(1 for v in self.violations("dns-a") if v["kind"] == "dns")
        self.a.proc.send_signal(signal.SIGKILL)
        self.a.proc.wait()
        self.a.log.close()
        self.dns.set_hosts(self.records("127.0.1.12"))
        r = self.fa.do("connect", f"api.{ZONE}", P)
        self.assertTrue(ok(r), r)
        self.assertEqual(r["addr"], "127.0.1.12")
        self.assertTrue(eperm(self.fb.do("connectip", "127.0.1.12", P)))  # A's, not B's
        self.assertTrue(eperm(self.fa.do("connectip", "127.0.1.99", P)))
        r = self.fa.do("connect", f"other.{ZONE}", P)
        self.assertFalse(ok(r), r)
        self.assertFalse(self.dns.queried(f"other.{ZONE}"))
        r = self.fb.do("connect", f"api.{ZONE}", P)
        self.assertTrue(ok(r), r)
        self.assertEqual(r["addr"], "127.0.1.12")
        self.assertNotIn("127.0.1.99", self.target.hits)

        # A new agent takes over the pinned state: the names, the bindings, and the gap's
        # refused query (read from the pinned ring buffer).
        self.a = self.agent(state=self.a.state, extra=["--bpf-pin-dir", self.pins]).start()
        wait_for(lambda: "took over from the earlier agent" in self.a.logs(), what="take-over")
        r = self.fa.do("connect", f"api.{ZONE}", P)
        self.assertTrue(ok(r), r)
        self.assertTrue(eperm(self.fa.do("connectip", "127.0.1.99", P)))
        wait_for(lambda: sum(1 for v in self.violations("dns-a")
                             if v["kind"] == "dns") > dns_before, what="the gap's refused query")
        self.assertIn(f"peek.{ZONE}", {n["name"] for n in self.section("dns-a")["namedEgress"]})


if __name__ == "__main__":
    import unittest
    unittest.main()
