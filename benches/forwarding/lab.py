"""The benchmark's network: five namespaces joined by veth pairs, and the processes run in them.

    gen  eth0 198.18.0.1/24 ──── c0 198.18.0.2/24  dir  s0 198.18.1.1/24 ──┐
         eth1 198.18.1.100/24 ─────────────────────────────────────────────┤ br0 (namespace br)
    rs1  eth0 198.18.1.11/24 ──────────────────────────────────────────────┤
    rs2  eth0 198.18.1.12/24 ──────────────────────────────────────────────┘

`gen` is the client (trafgen, wrk), `dir` the balancer under test, `rs1`/`rs2` the real
servers (nginx). The VIP 198.18.100.1 is routed by `gen` through the director's 198.18.0.2.
The real servers return traffic to 198.18.0.0/24 through the director (NAT, DNAT, HAProxy) or
straight to the client's second leg `gen:eth1` (direct routing, tunnel), which is how replies
bypass a DR/TUN director in a real network.

Every name carries the process id, so two runs never collide; `Lab.destroy` kills what was
started and deletes the namespaces, and is safe to call more than once.
"""

import os
import re
import signal
import subprocess
import time

VIP = "198.18.100.1"
CLIENT = "198.18.0.1"
DIRECTOR_CLIENT_SIDE = "198.18.0.2"
DIRECTOR_SERVER_SIDE = "198.18.1.1"
CLIENT_SERVER_SIDE = "198.18.1.100"
SERVERS = ["198.18.1.11", "198.18.1.12"]

# Fixed, locally administered MAC addresses so trafgen's frames can be written in advance.
MAC = {
    ("gen", "eth0"): "02:1b:00:00:00:01",
    ("dir", "c0"): "02:1b:00:00:00:02",
    ("dir", "s0"): "02:1b:00:00:01:01",
    ("gen", "eth1"): "02:1b:00:00:01:64",
    ("rs1", "eth0"): "02:1b:00:00:01:0b",
    ("rs2", "eth0"): "02:1b:00:00:01:0c",
}

ROLES = ["gen", "dir", "br", "rs1", "rs2"]

# The director's two links are made with two queues (both ends), so two AF_XDP workers can
# each bind one; `Lab.set_queues` lowers them to one for every other row.
MULTIQUEUE = [("gen", "eth0", "dir", "c0"), ("dir", "s0", "br", "pdir")]
MAX_QUEUES = 2


class CommandFailed(Exception):
    """A command of the lab exited non-zero; the message names it and quotes its stderr."""


def run(args, check=True, timeout=30, input_text=None):
    """Runs `args` to completion (bounded by `timeout` seconds); its stdout as text."""
    done = subprocess.run(
        args,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise CommandFailed(f"`{' '.join(args)}' exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def remove_stale_namespaces():
    """Deletes the namespaces of earlier runs that were killed before they could clean up
    (named `lbfw<pid>-<role>`, with no process <pid> any more)."""
    listing = run(["ip", "netns", "list"], check=False)
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(r"lbfw(\d+)-(gen|dir|br|rs1|rs2)", name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            run(["ip", "netns", "del", name], check=False)


class Lab:
    """The namespaces, links and background processes of one benchmark run."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.tag = f"lbfw{os.getpid()}"
        self.ns = {role: f"{self.tag}-{role}" for role in ROLES}
        self.created = []
        self.processes = []

    # ---- running things inside a namespace -------------------------------------------------

    def sh(self, role, *args, check=True, timeout=30, input_text=None):
        """Runs a command in the namespace of `role` and returns its stdout."""
        return run(["ip", "netns", "exec", self.ns[role], *args], check, timeout, input_text)

    def sysctl(self, role, **settings):
        """Sets sysctls (`net.ipv4.ip_forward=1` written as `net__ipv4__ip_forward=1`)."""
        pairs = [f"{k.replace('__', '.')}={v}" for k, v in settings.items()]
        self.sh(role, "sysctl", "-q", "-w", *pairs)

    def start(self, role, args, log_name):
        """Starts a background process in `role`'s namespace, its output going to a log file."""
        log_path = os.path.join(self.workdir, log_name)
        log = open(log_path, "wb")
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns[role], *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        process.log_path = log_path
        self.processes.append(process)
        return process

    def stop(self, process, sig=signal.SIGTERM, grace=5.0):
        """Stops one started process by its pid: `sig`, then SIGKILL after `grace` seconds."""
        if process.poll() is None:
            # The process leads its own session (start_new_session): signal its group, so
            # children it forked (nginx workers, trafgen's per-CPU writers) go too.
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=grace)
            except ProcessLookupError:
                pass
        if process in self.processes:
            self.processes.remove(process)
        return process.returncode

    # ---- building and removing the network -------------------------------------------------

    def create(self):
        for role in ROLES:
            run(["ip", "netns", "add", self.ns[role]])
            self.created.append(self.ns[role])
            self.sh(role, "ip", "link", "set", "lo", "up")
        self.sh("br", "ip", "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0")
        self._veth("gen", "eth0", "dir", "c0", queues=MAX_QUEUES)
        self._veth("gen", "eth1", "br", "pgen")
        self._veth("dir", "s0", "br", "pdir", queues=MAX_QUEUES)
        self._veth("rs1", "eth0", "br", "prs1")
        self._veth("rs2", "eth0", "br", "prs2")
        for port in ["pgen", "pdir", "prs1", "prs2"]:
            self.sh("br", "ip", "link", "set", port, "master", "br0")
        self._address("gen", "eth0", f"{CLIENT}/24")
        self._address("gen", "eth1", f"{CLIENT_SERVER_SIDE}/24")
        self._address("dir", "c0", f"{DIRECTOR_CLIENT_SIDE}/24")
        self._address("dir", "s0", f"{DIRECTOR_SERVER_SIDE}/24")
        self._address("rs1", "eth0", f"{SERVERS[0]}/24")
        self._address("rs2", "eth0", f"{SERVERS[1]}/24")
        for role, dev in [("br", "br0"), ("br", "pgen"), ("br", "pdir"), ("br", "prs1"), ("br", "prs2")]:
            self.sh(role, "ip", "link", "set", dev, "up")
        self.sh("gen", "ip", "route", "add", f"{VIP}/32", "via", DIRECTOR_CLIENT_SIDE, "dev", "eth0")
        self._settings()
        self.replies_via_director()
        self.queues = MAX_QUEUES
        self.set_queues(1)

    def set_queues(self, n):
        """Gives the director's two links (both ends of each veth) `n` receive and transmit
        queues: an AF_XDP worker binds one queue, and the sending end's transmit queue (per
        flow) is the queue a frame arrives on."""
        if n == self.queues:
            return
        for role_a, dev_a, role_b, dev_b in MULTIQUEUE:
            for role, dev in [(role_a, dev_a), (role_b, dev_b)]:
                self.sh(role, "ethtool", "-L", dev, "rx", str(n), "tx", str(n))
        self.queues = n

    def _veth(self, role_a, dev_a, role_b, dev_b, queues=1):
        multi = ["numrxqueues", str(queues), "numtxqueues", str(queues)] if queues > 1 else []
        run(["ip", "link", "add", dev_a, "netns", self.ns[role_a], *multi, "type", "veth",
             "peer", "name", dev_b, "netns", self.ns[role_b], *multi])
        for role, dev in [(role_a, dev_a), (role_b, dev_b)]:
            if (role, dev) in MAC:
                self.sh(role, "ip", "link", "set", dev, "address", MAC[(role, dev)])
            # Kernel-made TCP segments must carry complete checksums when a userspace director
            # reads them from an AF_PACKET socket; the same setting holds for every row.
            self.sh(role, "ethtool", "-K", dev, "tx", "off", check=False)

    def _address(self, role, dev, cidr):
        self.sh(role, "ip", "address", "add", cidr, "dev", dev)
        self.sh(role, "ip", "link", "set", dev, "up")

    def _settings(self):
        # A new namespace inherits the host's IPv4 settings: set everything that matters.
        common = dict(
            net__ipv4__conf__all__rp_filter=0,
            net__ipv4__conf__default__rp_filter=0,
            net__ipv4__ip_forward=0,
        )
        for role in ["gen", "dir", "rs1", "rs2"]:
            self.sysctl(role, **common)
        for role in ["gen", "dir"]:
            self.sysctl(
                role,
                net__ipv4__ip_local_port_range="1024 65535",
                net__ipv4__tcp_tw_reuse=1,
            )
        for dev in ["eth0", "eth1"]:
            self.sysctl("gen", **{f"net__ipv4__conf__{dev}__rp_filter": 0})
        self.sysctl("dir", net__ipv4__conf__all__send_redirects=0)
        for role in ["rs1", "rs2"]:
            self.sysctl(role, net__core__somaxconn=4096)
        # Bridged frames should not be handed to (empty) IP netfilter hooks in the bridge.
        self.sh("br", "sysctl", "-q", "-w",
                "net.bridge.bridge-nf-call-iptables=0",
                "net.bridge.bridge-nf-call-ip6tables=0",
                "net.bridge.bridge-nf-call-arptables=0", check=False)

    def replies_via_director(self):
        """NAT, DNAT, HAProxy: the real servers reach the client through the director."""
        for role in ["rs1", "rs2"]:
            self.sh(role, "ip", "route", "replace", "198.18.0.0/24", "via", DIRECTOR_SERVER_SIDE)

    def replies_direct(self):
        """DR, TUN: the real servers answer the client on its second leg, not via the director."""
        for role in ["rs1", "rs2"]:
            self.sh(role, "ip", "route", "replace", "198.18.0.0/24", "via", CLIENT_SERVER_SIDE)

    def destroy(self):
        """Stops every started process and deletes every namespace; never raises."""
        for process in list(self.processes):
            try:
                self.stop(process, grace=3.0)
            except Exception:  # noqa: BLE001 - cleanup goes on regardless
                pass
        for name in reversed(self.created):
            for _attempt in range(3):
                done = subprocess.run(["ip", "netns", "del", name], capture_output=True)
                if done.returncode == 0:
                    break
                time.sleep(0.2)
        self.created.clear()
