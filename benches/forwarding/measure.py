"""The three measurements: UDP packets per second delivered to the real servers (trafgen), and
HTTP requests per second and latency through the balancer (wrk)."""

import json
import os
import re
import signal
import statistics
import subprocess
import time

from lab import CLIENT, MAC, CommandFailed

HERE = os.path.dirname(os.path.abspath(__file__))
UDP_PORT = 9
# trafgen sends through the kernel's queueing layer (a veth has no qdisc: it only picks the
# transmit queue) rather than past it: the queue is then chosen by each frame's flow hash, so
# the frames of the 64,512 flows spread over the two queues a 2-worker AF_XDP row binds. Past
# the qdisc layer (trafgen's default) the queue is the sending CPU's number, the same for
# every frame of one trafgen process. Measured here, both send the same rate through nftables.
TRAFGEN_OPTIONS = ["--qdisc-path"]

# The real servers count and drop every IPv4 frame at their interface's ingress while the UDP
# phase runs: the count is what was delivered, and nothing answers (no ICMP, no socket work).
DELIVERED_TABLE = """table netdev lbfw_delivered {
    counter delivered {
    }
    chain ingress {
        type filter hook ingress device "eth0" priority -500; policy accept;
        meta protocol ip counter name "delivered" drop
    }
}
"""


class MeasurementFailed(Exception):
    """A measurement could not produce a figure; the message says why."""


def trafgen_config(workdir, dst_ip, alternate_servers=False):
    """Writes trafgen's packet description for frames to `dst_ip` through the director."""
    with open(os.path.join(HERE, "trafgen.cfg.in")) as f:
        text = f.read()
    fields = {
        "DST_MAC": MAC[("dir", "c0")],
        "SRC_MAC": MAC[("gen", "eth0")],
        "SRC_IP": CLIENT,
        "DST_IP": dst_ip,
        "DST_EXTRA": ", da[3]=dinc(11, 12)" if alternate_servers else "",
        "DST_PORT": str(UDP_PORT),
    }
    for key, value in fields.items():
        text = text.replace(f"@{key}@", value)
    path = os.path.join(workdir, "trafgen.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def _delivered(lab, role):
    """(packets counted at `role`'s ingress, monotonic time of the reading)."""
    out = lab.sh(role, "nft", "-j", "list", "counter", "netdev", "lbfw_delivered", "delivered")
    stamp = time.monotonic()
    for item in json.loads(out)["nftables"]:
        if "counter" in item:
            return item["counter"]["packets"], stamp
    raise MeasurementFailed(f"no delivered counter in {role}")


def _sent(lab):
    """(frames the generator's interface has sent, monotonic time of the reading)."""
    out = lab.sh("gen", "ip", "-j", "-s", "link", "show", "dev", "eth0")
    stamp = time.monotonic()
    return json.loads(out)[0]["stats64"]["tx"]["packets"], stamp


def measure_pps(lab, dst_ip, samples, seconds, warmup, alternate_servers=False):
    """Packets per second delivered to rs1+rs2 while trafgen sends as fast as it can, and
    the rate trafgen managed to send (offered), as two lists, and rs1's share of the packets.

    One trafgen run; after `warmup` seconds, `samples` consecutive windows of `seconds` each.
    Each counter is read with its own timestamp, so the readings need not be simultaneous."""
    servers = ["rs1", "rs2"]
    for role in servers:
        lab.sh(role, "nft", "-f", "-", input_text=DELIVERED_TABLE)
    generator = None
    try:
        config = trafgen_config(lab.workdir, dst_ip, alternate_servers)
        generator = lab.start("gen", ["trafgen", "--dev", "eth0", "--conf", config, "--cpus", "1",
                                      *TRAFGEN_OPTIONS], "trafgen.log")
        time.sleep(warmup)
        if generator.poll() is not None:
            raise MeasurementFailed(f"trafgen exited: {tail(generator.log_path)}")
        def read():
            counts = {role: _delivered(lab, role) for role in servers}
            counts["gen"] = _sent(lab)
            return counts

        def rate(after, before, role):
            return (after[role][0] - before[role][0]) / (after[role][1] - before[role][1])

        before = first = read()
        delivered, offered = [], []
        for _ in range(samples):
            time.sleep(seconds)
            after = read()
            delivered.append(sum(rate(after, before, r) for r in servers))
            offered.append(rate(after, before, "gen"))
            before = after
        if max(delivered) == 0:
            raise MeasurementFailed(f"nothing delivered (offered {statistics.median(offered):,.0f}/s)")
        counts = [before[r][0] - first[r][0] for r in servers]
        return delivered, offered, counts[0] / max(1, sum(counts))
    finally:
        if generator is not None:
            lab.stop(generator, sig=signal.SIGINT)
        for role in servers:
            lab.sh(role, "nft", "delete", "table", "netdev", "lbfw_delivered", check=False)


RESULT = re.compile(r"^RESULT (.*)$", re.M)


def run_wrk(lab, url, seconds, connections, close=False, delay_ms=0):
    """One wrk run from the client; its RESULT line as a dict of integers."""
    args = ["wrk", "--threads", "1", "--connections", str(connections),
            "--duration", f"{int(seconds)}s", "--timeout", "2s",
            "--script", os.path.join(HERE, "wrk-report.lua")]
    if close:
        args += ["--header", "Connection: close"]
    args.append(url)
    env_args = ["env", f"WRK_DELAY_MS={delay_ms}"]
    try:
        out = lab.sh("gen", *env_args, *args, timeout=seconds + 20)
    except CommandFailed as error:
        raise MeasurementFailed(str(error)) from error
    match = RESULT.search(out)
    if not match:
        raise MeasurementFailed(f"wrk printed no result: {out.strip()[-300:]}")
    fields = {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    fields["errors"] = sum(fields[k] for k in
                           ["connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"])
    return fields


def measure_wrk(lab, url, samples, seconds, warmup, connections, close=False, delay_ms=0):
    """`samples` wrk runs after a discarded warm-up run of `warmup` seconds (none for 0): a list
    of RESULT dicts with `rate`.

    A run with no answered request, or with more than 1% errors, fails the measurement: a
    figure from a half-broken path would be misleading."""
    if warmup > 0:
        run_wrk(lab, url, warmup, connections, close, delay_ms)
    results = []
    for _ in range(samples):
        fields = run_wrk(lab, url, seconds, connections, close, delay_ms)
        if fields["requests"] == 0:
            raise MeasurementFailed(f"no request answered in {seconds} s ({fields['errors']} errors)")
        if fields["errors"] > fields["requests"] / 100:
            raise MeasurementFailed(
                f"{fields['errors']} errors for {fields['requests']} requests "
                f"(connect {fields['connect_errors']}, read {fields['read_errors']}, "
                f"write {fields['write_errors']}, timeouts {fields['timeouts']})")
        fields["rate"] = fields["requests"] / (fields["duration_us"] / 1e6)
        results.append(fields)
    return results


def tail(path, lines=5):
    """The last lines of a log file, joined on one line (for error messages)."""
    try:
        with open(path, errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for_line(process, needle, timeout):
    """Waits (at most `timeout` s) until `needle` appears in a started process's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(process.log_path, errors="replace") as f:
                if needle in f.read():
                    return
        except OSError:
            pass
        if process.poll() is not None:
            raise MeasurementFailed(f"exited {process.returncode}: {tail(process.log_path)}")
        time.sleep(0.05)
    raise MeasurementFailed(f"no `{needle}' within {timeout} s: {tail(process.log_path)}")


def wait_for_port(lab, role, address, port, timeout, process=None):
    """Waits (at most `timeout` s) until a TCP port accepts connections, seen from `role`;
    fails at once if `process` (the one that should listen) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise MeasurementFailed(f"exited {process.returncode}: {tail(process.log_path)}")
        probe = subprocess.run(
            ["ip", "netns", "exec", lab.ns[role], "timeout", "2", "bash", "-c",
             f"exec 3<>/dev/tcp/{address}/{port}"],
            capture_output=True, timeout=5)
        if probe.returncode == 0:
            return
        time.sleep(0.1)
    raise MeasurementFailed(f"{address}:{port} not accepting connections within {timeout} s")
