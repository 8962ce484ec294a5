#!/usr/bin/python3
"""bench.py: callpipe's benchmarks (run through bench/run.sh; see bench/README.md).

usage: bench.py [--smoke] [--only PART,...] --top DIR --bin DIR --tools DIR --out FILE

Measures, on this machine, and prints ONE table (also written to --out with the date,
machine and commit):
  1. twilio-mix throughput and peak RSS on generated captures (bench/gen-capture.py);
  2. added latency through the running server (pipeline.sh, websocketd, the call
     pipeline) with the benchmark's own load generator (loadgen) and Deepgram sink
     (dg-sink): ingress = Twilio media message written by the caller -> its audio bytes
     read by the sink (tags in the mu-law payload); egress = Results written by the sink
     -> read by a /client subscriber; at 1 and 50 calls;
  3. capacity: concurrent real-time calls stepped up until audio is lost or ingress p99
     reaches 100 ms; CPU and PSS per call, per-process CPU, the load tools' own share;
  4. deepgram-stream: CPU seconds per hour of stereo audio (real-time and bulk) and peak
     RSS with a full replay buffer.
Binds 127.0.0.1 only, on ports chosen at run time; every wait is bounded; every process
it starts is stopped by PID at exit. Exit 0 with figures, however slow the machine; 1 when
something broke (a server that does not start, a tool that fails, or, with --smoke, lost
audio or failed calls).
"""
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from benchlib import each_proc, freeport

TICK = os.sysconf("SC_CLK_TCK")
NPROC = os.cpu_count() or 1


class Broken(Exception):
    pass


def info(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def pct(v, p):
    """nearest-rank percentile of a sorted list"""
    if not v:
        return None
    k = max(1, math.ceil(p * len(v)))
    return v[min(k, len(v)) - 1]


def ms(us):
    return "-" if us is None else "%.1f" % (us / 1000.0)


# ------------------------------------------------------------------ processes we start
STARTED = []


def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    STARTED.append(p)
    return p


def wait_rusage(p, timeout):
    """wait (bounded) for a child; returns (exit status, rusage) or kills it at the deadline"""
    end = time.monotonic() + timeout
    while True:
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(st)
            return p.returncode, ru
        if time.monotonic() > end:
            info("%s did not finish within %d s: killing it" % (os.path.basename(p.args[0]), timeout))
            p.kill()
            pid, st, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(st)
            return 124, ru
        time.sleep(0.02)


def stop(p, sig=signal.SIGTERM, timeout=10):
    if p.poll() is None:
        try:
            p.send_signal(sig)  # runstat passes it on to its program
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            signal_child(p.pid, signal.SIGKILL)
            p.kill()
            p.wait(5)


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# ------------------------------------------------------------------ /proc
def proc_table():
    """pid -> (comm, ppid, cpu ticks, of which in the kernel)"""
    t = {}
    for pid, s in each_proc("stat"):
        comm = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        t[pid] = (comm, int(f[1]), int(f[11]) + int(f[12]), int(f[12]))
    return t


def cpu_total():
    """(all ticks, idle+iowait, irq+softirq, steal, processes forked since boot), the
    ticks summed over the CPUs"""
    forks = 0
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]] + [0] * 8
        for line in f:
            if line.startswith("processes "):
                forks = int(line.split()[1])
    return sum(v[:8]), v[3] + v[4], v[5] + v[6], v[7], forks


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_ticks(pid):
    """user + system CPU ticks of a process, its threads included"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return int(v[11]) + int(v[12])
    except (OSError, IndexError, ValueError):
        return 0


def smaps_rollup(pid):
    """a process's smaps_rollup figures (KB)"""
    m = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if v.strip().endswith("kB"):
                    m[k] = int(v.split()[0])
    except (OSError, ValueError):
        pass
    return m


def mem_of_child(pid):
    """smaps_rollup figures (KB) of the first child of pid (the program runstat runs)"""
    m = {}
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kid = int(f.read().split()[0])
        with open("/proc/%d/smaps_rollup" % kid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if v.strip().endswith("kB"):
                    m[k] = int(v.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return m


def signal_child(pid, sig):
    """signal the program runstat (pid) runs"""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            for k in f.read().split():
                os.kill(int(k), sig)
    except (OSError, ValueError):
        pass


def sched_runs(pid):
    """how many times the process's threads were scheduled in (/proc/PID/task/*/schedstat):
    its wake-ups, plus the times it was preempted and resumed"""
    n = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    n += int(f.read().split()[2])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        pass
    return n


def descendants(table, root):
    kids = {}
    for pid, (_, ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


CALL_GROUPS = ["twilio-mix", "transcribe", "deepgram-stream", "fanout", "subscribers", "other"]
GROUPS = ["websocketd", "twilio-mix", "transcribe", "deepgram-stream", "fanout", "subscribers",
          "loadgen", "dg-sink"]


def group_of(table, pid, root, rootname, loadgen, sink):
    if pid == root:
        return rootname
    if pid == loadgen:
        return "loadgen"
    if pid == sink:
        return "dg-sink"
    comm = table[pid][0]
    if comm == "twilio-mix":
        return "twilio-mix"
    if comm.startswith("deepgram-str"):
        return "deepgram-stream"
    if comm == "fanout":
        return "fanout"
    if comm in ("subscribe", "bash"):
        return "subscribers"
    if comm == "transcribe":
        return "transcribe"
    return "other"


# ------------------------------------------------------------------ the bench
class Bench:
    def __init__(self, a):
        self.smoke = a["smoke"]
        self.only = a["only"].split(",") if a["only"] else None
        self.top, self.bin, self.tools, self.outf = a["top"], a["bin"], a["tools"], a["out"]
        self.tmp = tempfile.mkdtemp(prefix="callpipe-bench.")
        self.rows = []   # (section, figure, value, target)
        self.notes = []
        self.problems = []
        self.pl = self.sink = None
        self.wsd = None
        self.peer = None
        self.tg = {}  # "callpipe", "peer" -> port, root pid, its name, idle PSS
        self.logpos = 0
        self.t_start = time.monotonic()
        self.waited = 0.0  # seconds spent waiting for a quiet machine
        try:
            with open("/proc/loadavg") as f:
                self.loadavg = " ".join(f.read().split()[:3])
        except OSError:
            self.loadavg = "unknown"

    def row(self, sec, fig, val, target=""):
        self.rows.append((sec, fig, val, target))
        info("%-10s %-58s %s" % (sec, fig, val))

    def problem(self, msg):
        info("PROBLEM: " + msg)
        self.problems.append(msg)

    def run(self, args, stdin=None, stdout=None, stderr=None, timeout=120, env=None):
        p = spawn(args, stdin=stdin, stdout=stdout, stderr=stderr, env=env)
        return wait_rusage(p, timeout)

    # ---------------------------------------------------------------- 1. mixer
    def capture(self, secs):
        path = os.path.join(self.tmp, "cap-%g.jsonl" % secs)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                rc, _ = self.run(["/usr/bin/python3", os.path.join(self.top, "bench/gen-capture.py"),
                                  "-s", str(secs)], stdout=f, timeout=300)
            if rc != 0:
                raise Broken("gen-capture.py failed (exit %d)" % rc)
        return path

    def runstat(self, name):
        """(argv prefix, reader) for running a command under build/bench/runstat"""
        path = os.path.join(self.tmp, "stat-%s" % name)

        def read():
            try:
                with open(path) as f:
                    v = f.read().split()
                return int(v[0]), float(v[1]) + float(v[2]), float(v[3])  # rss KB, cpu s, wall s
            except (OSError, ValueError, IndexError):
                raise Broken("no resource figures from runstat for %s" % name)
        return [os.path.join(self.tools, "runstat"), path], read

    def mix_once(self, path):
        pre, read = self.runstat("mix")
        with open(path, "rb") as f, open(os.devnull, "wb") as dn, \
                open(os.path.join(self.tmp, "mix.err"), "wb") as err:
            rc, _ = self.run(pre + [os.path.join(self.bin, "twilio-mix")], stdin=f, stdout=dn,
                             stderr=err, timeout=300)
        if rc != 0:
            raise Broken("twilio-mix failed on %s (exit %d)" % (path, rc))
        rss, cpu, wall = read()
        return wall, cpu, rss

    def mixer(self):
        long_s, short_s, runs = (10, 2, 3) if self.smoke else (600, 60, 9)
        big, small = self.capture(long_s), self.capture(short_s)
        nmsg = long_s * 50 * 2
        size = os.path.getsize(big)
        res = sorted(self.mix_once(big) for _ in range(runs))
        med = res[len(res) // 2]
        best = res[0]
        rss_big = max(r[2] for r in res)
        rss_small = max(self.mix_once(small)[2] for _ in range(3))
        lab = "%g-min" % (long_s / 60) if long_s >= 60 else "%g-s" % long_s
        self.row("mixer", "media messages/s, %s two-track capture (median of %d; best)" % (lab, runs),
                 "%s; %s" % (fmt_int(nmsg / med[0]), fmt_int(nmsg / best[0])),
                 ">= 1,000,000 (Rust ref ~520,000)")
        self.row("mixer", "input MB/s (median; CPU s per run)", "%.0f MB/s; %.3f s" % (size / 1e6 / med[0], med[1]))
        slab = "%g-min" % (short_s / 60) if short_s >= 60 else "%g-s" % short_s
        self.row("mixer", "peak RSS, %s vs %s capture" % (slab, lab),
                 "%.1f MB vs %.1f MB" % (rss_small / 1024, rss_big / 1024), "constant")

    # ---------------------------------------------------------------- server
    def start_server(self):
        self.start_sink()
        self.start_pipeline(self.bin)

    def start_sink(self):
        pf = os.path.join(self.tmp, "sink.port")
        self.sinklog = os.path.join(self.tmp, "sink.log")
        self.sink = spawn([os.path.join(self.tools, "dg-sink"), "-f", pf, "-o", self.sinklog, "-e", "50"],
                          stderr=open(os.path.join(self.tmp, "sink.err"), "wb"))
        self.sport = self.wait_port_file(pf, self.sink)

    def start_pipeline(self, bindir, envx=None):
        """pipeline.sh (websocketd, the call pipeline) on a fresh port, tools from bindir"""
        self.port = freeport()
        self.state = os.path.join(self.tmp, "state")
        env = dict(os.environ)
        for k in ("TWILIO_AUTH_TOKEN", "CALLPIPE_PUBLIC_URL", "CALLPIPE_CLIENT_TOKEN",
                  "CALLPIPE_SUBSCRIBER_BUFFER", "CERT_PEM", "KEY_PEM"):
            env.pop(k, None)  # a plain ws:// server on loopback, no signatures, no client token
        env.update({"CALLPIPE_BIN": bindir, "CALLPIPE_DIR": self.state,
                    "DEEPGRAM_API_KEY": "benchkey",
                    "DEEPGRAM_URL": "ws://127.0.0.1:%d/v1/listen" % self.sport,
                    "PROXY_URL": "127.0.0.1:%d" % self.port, "CALLPIPE_DRAIN_SECONDS": "10",
                    "CALLPIPE_MAX_CONNECTIONS": "4000", "CALLPIPE_LOGLEVEL": "error"})
        env.update(envx or {})
        self.pllog = os.path.join(self.tmp, "pipeline.log")
        self.plpos = os.path.getsize(self.pllog) if os.path.exists(self.pllog) else 0
        self.pl = spawn(["sh", os.path.join(self.top, "pipeline.sh")], env=env,
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=open(self.pllog, "ab"))
        end = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/health" % self.port, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.pl.poll() is not None or time.monotonic() > end:
                raise Broken("pipeline.sh did not start: " + tail(self.pllog))
            time.sleep(0.1)
        with open(os.path.join(self.state, "run", "websocketd.pid")) as f:
            self.wsd = int(f.read().strip())
        self.wsd_idle_pss = pss_kb(self.wsd)
        self.tg["callpipe"] = {"port": self.port, "root": self.wsd, "rootname": "websocketd",
                               "idle_pss": self.wsd_idle_pss}

    def start_peer(self, frame_ms=20):
        """the peer (bench/peer/peer.js, one Node process) on a fresh port"""
        node = shutil.which("node")
        mods = os.path.join(self.top, "tests", "node", "node_modules")
        if node is None or not os.path.isdir(os.path.join(mods, "ws")):
            raise Broken("the peer needs node and tests/node/node_modules/ws (make deps)")
        pf = os.path.join(self.tmp, "peer.port")
        if os.path.exists(pf):
            os.unlink(pf)
        env = dict(os.environ, NODE_PATH=mods, DEEPGRAM_API_KEY="benchkey")
        self.peer = spawn([node, os.path.join(self.top, "bench", "peer", "peer.js"), "-f", pf,
                           "-u", "ws://127.0.0.1:%d/v1/listen" % self.sport, "-m", str(frame_ms)],
                          env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=open(os.path.join(self.tmp, "peer.err"), "ab"))
        port = self.wait_port_file(pf, self.peer, "the peer")
        time.sleep(0.5)  # let the start-up settle before the idle figure
        self.tg["peer"] = {"port": port, "root": self.peer.pid, "rootname": "peer",
                           "idle_pss": pss_kb(self.peer.pid)}

    def stop_peer(self):
        if getattr(self, "peer", None) is not None:
            stop(self.peer)
            self.peer = None

    def wait_port_file(self, pf, p, name="dg-sink"):
        end = time.monotonic() + 10
        while not os.path.exists(pf):
            if p.poll() is not None or time.monotonic() > end:
                raise Broken("%s did not start" % name)
            time.sleep(0.02)
        with open(pf) as f:
            return int(f.read())

    def stop_server(self):
        self.stop_pipeline()
        self.stop_peer()
        if self.sink is not None:
            stop(self.sink)

    def stop_pipeline(self):
        if self.pl is not None and self.pl.poll() is None:
            self.pl.send_signal(signal.SIGTERM)
            try:
                self.pl.wait(40)
            except subprocess.TimeoutExpired:
                if self.wsd and not gone(self.wsd):
                    os.kill(self.wsd, signal.SIGKILL)
                self.pl.kill()
                self.pl.wait(5)

    def call_procs(self):
        t = proc_table()
        return [p for p in descendants(t, self.wsd) if t[p][0] == "twilio-mix"]

    def read_sink(self):
        """new lines of the sink log since the last call"""
        with open(self.sinklog, "rb") as f:
            f.seek(self.logpos)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        self.logpos += cut
        return data[:cut].decode().splitlines()

    def quiet(self, max_s):
        """wait (at most max_s) for a second in which the machine is nearly idle (under a
        quarter of one core busy): the figures are CPU-bound and the machine may be shared.
        Returns the busy share (% of one core) of the last second measured."""
        if self.smoke:
            return 0.0
        # at most 100 s of waiting in the whole run: on a shared machine the run goes on
        # and the table shows the other work it measured
        max_s = min(max_s, max(1, 100 - self.waited))
        t0 = time.monotonic()
        end = t0 + max_s
        while True:
            c1 = cpu_total()
            time.sleep(1)
            c2 = cpu_total()
            tot, idle, _, steal = (c2[i] - c1[i] for i in range(4))
            busy = 100.0 * (tot - idle - steal) / tot * NPROC if tot else 0
            if busy < 25 or time.monotonic() >= end:
                self.waited += time.monotonic() - t0
                return busy
            info("machine busy (%.0f%% of a core): waiting for it to calm down" % busy)

    def phase(self, ph, n, secs, subs, every, measure=False, target="callpipe"):
        """one load run against target ("callpipe" or "peer"); returns a dict of results"""
        tg = self.tg[target]
        pre = self.quiet(20)
        stagger = 10 if n * 10 <= 3000 else max(1, 3000 // n)
        outp = os.path.join(self.tmp, "loadgen-%d.out" % ph)
        args = [os.path.join(self.tools, "loadgen"), "-p", str(tg["port"]), "-n", str(n),
                "-s", str(secs), "-i", str(stagger), "-P", str(ph), "-e", str(every),
                "-r", "%08x" % (os.getpid() & 0xffffffff), "-o", outp + ".egress"]
        if subs:
            args.append("-S")
        # the server's PSS idle, right before this run (node's heap and websocketd's
        # grow and shrink between runs)
        idle = pss_kb(tg["root"]) if measure else 0
        t0 = time.monotonic()
        lg = spawn(args, stdout=open(outp, "wb"), stderr=open(outp + ".err", "wb"))
        r = {"n": n, "pre": pre, "target": target, "idle_pss": idle}
        if measure:
            self.measure(r, tg, lg, t0, n * stagger / 1000.0, secs)
        rc, ru = wait_rusage(lg, n * stagger / 1000.0 + secs + 90)
        kv = {}
        with open(outp) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                kv[k] = int(v) if v.isdigit() else v
        r["lg"] = kv
        r["lg_rc"] = rc
        try:
            with open(outp + ".egress") as f:
                r["egress"] = [int(x) for x in f]
        except (OSError, ValueError):
            r["egress"] = []
        # wait (bounded) for every call to end: its processes gone, its sink connection closed
        end = time.monotonic() + 40
        closed = 0
        lines = []
        while time.monotonic() < end:
            new = self.read_sink()
            lines += new
            closed += sum(1 for x in new if x.startswith("C %d " % ph))
            if closed >= n and (target != "callpipe" or not self.call_procs()):
                break
            time.sleep(0.1)
        else:
            self.problem("phase %d: %d of %d calls ended within 40 s of the load" % (ph, closed, n))
        time.sleep(0.3)
        lines += self.read_sink()
        self.analyse(r, lines, ph, secs)
        r["diag"] = self.server_log() if target == "callpipe" else ""
        r["wall"] = time.monotonic() - t0
        return r

    def measure(self, r, tg, lg, t0, ramp, secs):
        """CPU, wake-ups and PSS of every process of the run between "every call streaming"
        (the last started ramp s after the first) and none ended yet"""
        root = tg["root"]
        ta = t0 + ramp + 1.5
        tb = t0 + secs - 0.5
        if tb - ta < 1:
            ta, tb = t0 + ramp + 0.3, t0 + secs - 0.1
        self.sleep_until(ta, lg)
        s1, c1, w1 = proc_table(), cpu_total(), time.monotonic()
        mine = descendants(s1, root) + [root]
        ids = (root, tg["rootname"], lg.pid, self.sink.pid)
        runs1 = {p: sched_runs(p) for p in mine + [lg.pid, self.sink.pid]}
        # PSS of the server's processes, once, at the start of the window
        pss = {}
        for pid in mine:
            if pid in s1:
                g = group_of(s1, pid, *ids)
                pss[g] = pss.get(g, 0) + pss_kb(pid)
        r["pss"] = pss
        r["ncalls_seen"] = (sum(1 for p in mine if s1[p][0] == "twilio-mix")
                            if tg["rootname"] == "websocketd" else r["n"])
        self.sleep_until(tb, lg)
        s2, c2, w2 = proc_table(), cpu_total(), time.monotonic()
        cpu, others, wake, ksys = {}, {}, {}, {}
        ours = set(descendants(s2, root)) | {root, lg.pid, self.sink.pid}
        for pid, (comm, ppid, ticks, kticks) in s2.items():
            if pid in s1 and s1[pid][0] == comm:
                d = ticks - s1[pid][2]
                if pid in ours:
                    g = group_of(s2, pid, *ids)
                    cpu[g] = cpu.get(g, 0) + d
                    ksys[g] = ksys.get(g, 0) + kticks - s1[pid][3]
                    if pid in runs1:
                        wake[g] = wake.get(g, 0) + sched_runs(pid) - runs1[pid]
                elif d > 0:
                    cpu["not ours"] = cpu.get("not ours", 0) + d
                    others[comm] = others.get(comm, 0) + d
        span = w2 - w1
        r["span"] = span
        r["cpu"] = {g: v / TICK / span * 100 for g, v in cpu.items()}   # % of one core
        r["sys"] = {g: 100.0 * ksys[g] / v for g, v in cpu.items() if v and g in ksys}  # % in the kernel
        # times each group was scheduled in, per 20 ms of call
        r["wake"] = {g: v / (span / 0.02) / max(1, r["n"]) for g, v in wake.items()}
        r["others"] = sorted(((v / TICK / span * 100, k) for k, v in others.items()), reverse=True)[:4]
        tot, idle, irq, steal = (c2[i] - c1[i] for i in range(4))
        r["busy"] = 100.0 * (tot - idle - steal) / tot if tot else 0
        r["forks"] = c2[4] - c1[4]  # calls in progress fork nothing: these are other work
        r["irq"] = 100.0 * irq / tot * NPROC if tot else 0      # % of one core
        r["steal"] = 100.0 * steal / tot * NPROC if tot else 0
        # everything else that ran: other processes (including short-lived ones, which
        # the per-process figures miss: other people's test suites) and the kernel
        ours_ = sum(v for g, v in r["cpu"].items() if g != "not ours")
        r["cpu"]["not ours"] = max(0.0, r["busy"] * NPROC - ours_ - r["irq"])

    def server_log(self):
        """what the call processes reported since the last call: non-zero loss counters"""
        try:
            with open(self.pllog, "rb") as f:
                f.seek(getattr(self, "plpos", 0))
                data = f.read()
        except OSError:
            return ""
        cut = data.rfind(b"\n") + 1
        self.plpos = getattr(self, "plpos", 0) + cut
        count = {}
        for line in data[:cut].decode(errors="replace").splitlines():
            m = re.search(r"(twilio-mix|deepgram-stream|fanout|subscribe): (warning|fatal|info): (.*)", line)
            if not m:
                continue
            prog, lvl, msg = m.groups()
            if lvl == "info" and "summary" in msg:
                for k, v in re.findall(r"(lag-filled|late dropped|overflow dropped|undelivered|"
                                       r"reconnects|dropped audio|skipped) (\d+)", msg):
                    if int(v):
                        key = "%s %s" % (prog, k)
                        count[key] = count.get(key, 0) + int(v)
            elif lvl != "info":
                key = "%s %s: %s" % (prog, lvl, re.sub(r"[0-9]+", "N", msg)[:110])
                count[key] = count.get(key, 0) + 1
        return "; ".join("%s x%d" % (k, v) for k, v in sorted(count.items()))

    def sleep_until(self, t, p):
        while time.monotonic() < t and p.poll() is None:
            time.sleep(min(0.05, max(0, t - time.monotonic())))

    def analyse(self, r, lines, ph, secs):
        warm = 50  # the first second of each call (call set-up) is left out of the percentiles
        lat, first, seen, dups, untagged, conns = [], [], set(), 0, 0, 0
        for x in lines:
            f = x.split()
            if f[0] == "A" and int(f[1]) == ph:
                key = (f[2], f[3], int(f[4]))
                if key in seen:
                    dups += 1
                    continue
                seen.add(key)
                v = int(f[5])
                if key[2] >= warm:
                    lat.append(v)
                elif key[2] == 0:
                    first.append(v)
            elif f[0] == "U" and int(f[1]) in (ph, -1):
                untagged += 1
            elif f[0] == "C" and int(f[1]) == ph:
                conns += 1
        lat.sort()
        first.sort()
        sent = r["lg"].get("chunks_sent", 0)
        r["lat"] = lat
        r.update({"in_p50": pct(lat, .5), "in_p99": pct(lat, .99), "in_max": lat[-1] if lat else None,
                  "in_n": len(lat), "first_p50": pct(first, .5), "first_max": first[-1] if first else None,
                  "received": len(seen), "sent": sent, "lost": max(0, sent - len(seen)),
                  "dups": dups, "untagged": untagged, "conns": conns})

    def latency(self):
        secs1, secs50, n50 = (3, 3, 5) if self.smoke else (10, 15, 50)
        out = []
        for ph, n, secs in ((1, 1, secs1), (2, n50, secs50)):
            info("latency: %d call%s, %d s" % (n, "" if n == 1 else "s", secs))
            r = self.phase(ph, n, secs, True, 10)
            out.append(r)
            lg = r["lg"]
            self.row("latency", "%d call%s: ingress p50 / p99 / max ms" % (n, "" if n == 1 else "s"),
                     "%s / %s / %s" % (ms(r["in_p50"]), ms(r["in_p99"]), ms(r["in_max"])),
                     "p99 <= 30 at 50 calls" if n > 1 else "")
            self.row("latency", "%d call%s: egress p50 / p99 / max ms" % (n, "" if n == 1 else "s"),
                     "%s / %s / %s" % (ms(lg.get("egress_p50_us")), ms(lg.get("egress_p99_us")),
                                       ms(lg.get("egress_max_us"))),
                     "p99 <= 10 at 50 calls" if n > 1 else "")
            self.row("latency", "%d call%s: lost audio chunks; samples in / out; call set-up ms (p50/max)"
                     % (n, "" if n == 1 else "s"),
                     "%d of %d; %d / %d; %s / %s" % (r["lost"], r["sent"], r["in_n"], lg.get("egress_n", 0),
                                                    ms(r["first_p50"]), ms(r["first_max"])))
            self.late_max = max(getattr(self, "late_max", 0), lg.get("late_max_us", 0))
            self.check_calls(r, "latency %d calls" % n, subs=True)
            if r["diag"]:
                self.notes.append("latency %d calls: call processes reported: %s" % (n, r["diag"]))
        return out

    def check_calls(self, r, what, subs=False):
        lg = r["lg"]
        bad = []
        if lg.get("ok", 0) != r["n"]:
            bad.append("%s of %d calls completed" % (lg.get("ok", 0), r["n"]))
        if r["lost"]:
            bad.append("%d of %d audio chunks lost" % (r["lost"], r["sent"]))
        if r["dups"]:
            bad.append("%d chunks duplicated" % r["dups"])
        if r["untagged"]:
            bad.append("%d chunks of silence fill" % r["untagged"])
        if subs and lg.get("subs_failed", 0):
            bad.append("%d subscribers got nothing" % lg["subs_failed"])
        if bad:
            msg = "%s: %s" % (what, ", ".join(bad))
            if self.smoke:
                self.problem(msg)
            else:
                self.notes.append(msg)
                info("note: " + msg)
        return not bad

    # ---------------------------------------------------------------- 3. callpipe vs the peer
    def versus(self):
        """the same load (two-track real-time calls, one /client subscriber each, 2 Results
        a second per channel) on callpipe and on the peer, one after the other"""
        steps, secs = ([3], 3) if self.smoke else ([50, 100, 150], 14)
        self.vs = []
        ph = 20
        for n in steps:
            pair = []
            for target in ("callpipe", "peer"):
                info("vs peer: %s, %d calls with subscribers, %d s" % (target, n, secs))
                r = self.phase(ph, n, secs, True, 25, measure=True, target=target)
                ph += 1
                self.check_calls(r, "vs peer %s %d calls" % (target, n), subs=True)
                if r["diag"]:
                    self.notes.append("vs peer %d calls: call processes reported: %s" % (n, r["diag"]))
                pair.append(r)
            self.vs.append((n, pair[0], pair[1]))
            self.versus_rows(n, pair[0], pair[1])
        self.versus_summary()
        self.gomaxprocs(ph, steps[-1], secs)

    def gomaxprocs(self, ph, n, secs):
        """the largest step again with websocketd on one Go thread at a time (GOMAXPROCS=1)"""
        self.stop_pipeline()
        self.start_pipeline(self.bin, {"GOMAXPROCS": "1"})
        info("vs peer: callpipe with GOMAXPROCS=1 for websocketd, %d calls" % n)
        try:
            r = self.phase(ph, n, secs, True, 25, measure=True)
        finally:
            self.stop_pipeline()
            self.start_pipeline(self.bin)
        self.check_calls(r, "GOMAXPROCS=1 %d calls" % n, subs=True)
        _, cp, _ = self.vs[-1]
        self.row("vs peer", "%d calls: websocketd CPU per call %%, scheduled in per 20 ms of call; "
                 "ingress / egress p99 ms: default vs GOMAXPROCS=1" % n,
                 "%.3f, %.2f; %s / %s vs %.3f, %.2f; %s / %s" % (
                     cp["cpu"].get("websocketd", 0) / n, cp["wake"].get("websocketd", 0),
                     ms(cp["in_p99"]), ms(cp["lg"].get("egress_p99_us")),
                     r["cpu"].get("websocketd", 0) / n, r["wake"].get("websocketd", 0),
                     ms(r["in_p99"]), ms(r["lg"].get("egress_p99_us"))))

    def versus_rows(self, n, cp, pe):
        big = n == max(x[0] for x in self.vs) and not self.smoke
        c, p = cp["cpu"], pe["cpu"]
        ours = {g: c.get(g, 0) / n for g in CALL_GROUPS}
        cp_ours, cp_wsd, pe_tot = sum(ours.values()), c.get("websocketd", 0) / n, p.get("peer", 0) / n
        self.row("vs peer", "%d calls: CPU per call %% of a core: callpipe = websocketd + ours "
                 "(mix, transcribe, dg-stream, fanout, subscribe, other) vs peer (ratio)" % n,
                 "%.3f + %.3f (%s) = %.3f vs %.3f (%s)" % (
                     cp_wsd, cp_ours, ", ".join("%.3f" % ours[g] for g in CALL_GROUPS),
                     cp_wsd + cp_ours, pe_tot, ratio(cp_wsd + cp_ours, pe_tot)),
                 "ours <= 0.16, total <= 1.6x" if big else "")
        cpk, pek = pss_per_call(cp), pss_per_call(pe)
        self.row("vs peer", "%d calls: PSS per call, KB (server's PSS under load - idle, / calls): "
                 "callpipe vs peer (ratio)" % n,
                 "%.0f vs %.0f (%s)" % (cpk, pek, ratio(cpk, pek)), "<= 1200 KB" if big else "")
        for what, a, b in (("ingress", (cp["in_p50"], cp["in_p99"]), (pe["in_p50"], pe["in_p99"])),
                           ("egress", (cp["lg"].get("egress_p50_us"), cp["lg"].get("egress_p99_us")),
                            (pe["lg"].get("egress_p50_us"), pe["lg"].get("egress_p99_us")))):
            self.row("vs peer", "%d calls: %s p50 / p99 ms: callpipe vs peer" % (n, what),
                     "%s / %s vs %s / %s" % (ms(a[0]), ms(a[1]), ms(b[0]), ms(b[1])),
                     "p99 <= 5" if big else "")
        w = cp["wake"]
        self.row("vs peer", "%d calls: times scheduled in per 20 ms of call: websocketd, mix, transcribe, "
                 "dg-stream, fanout, subscribe, other vs peer" % n,
                 "%s vs %.2f" % (", ".join("%.2f" % w.get(g, 0) for g in ["websocketd"] + CALL_GROUPS),
                                pe["wake"].get("peer", 0)))
        self.row("vs peer", "%d calls: share of the CPU spent in the kernel: websocketd, mix, "
                 "dg-stream vs peer" % n,
                 "%s vs %.0f%%" % (", ".join("%.0f%%" % cp["sys"].get(g, 0) for g in
                                             ("websocketd", "twilio-mix", "deepgram-stream")),
                                  pe["sys"].get("peer", 0)))
        self.row("vs peer", "%d calls: load tools (loadgen, dg-sink) and the rest (not ours), %% of a "
                 "core: callpipe run vs peer run" % n,
                 "%.0f, %.0f, %.0f vs %.0f, %.0f, %.0f" % (
                     c.get("loadgen", 0), c.get("dg-sink", 0), c.get("not ours", 0),
                     p.get("loadgen", 0), p.get("dg-sink", 0), p.get("not ours", 0)))

    def versus_summary(self):
        """the ratios callpipe / peer at the smallest and largest step"""
        pick = [self.vs[0]] + ([self.vs[-1]] if len(self.vs) > 1 else [])
        parts = []
        for n, cp, pe in pick:
            cpu_c = sum(v for g, v in cp["cpu"].items() if g in CALL_GROUPS + ["websocketd"]) / n
            cpu_p = pe["cpu"].get("peer", 0) / n
            parts.append("%d calls: CPU %s, PSS %s, ingress p99 %s, egress p99 %s" % (
                n, ratio(cpu_c, cpu_p), ratio(pss_per_call(cp), pss_per_call(pe)),
                ratio(cp["in_p99"], pe["in_p99"]),
                ratio(cp["lg"].get("egress_p99_us"), pe["lg"].get("egress_p99_us"))))
        self.row("vs peer", "callpipe / peer", "; ".join(parts), "CPU <= 1.6x at 150")

    def capacity(self):
        steps, secs, budget = ([8], 3, 60) if self.smoke else ([50, 100, 150, 200, 250, 300, 400, 500], 14, 200)
        t_end = time.monotonic() + budget
        best, fail, results = None, None, []
        todo = list(steps)
        ph = 10
        retried = set()
        while todo:
            n = todo.pop(0)
            if time.monotonic() + secs + n * 0.01 + 20 > t_end:
                self.notes.append("capacity: stopped before %d calls (time budget)" % n)
                break
            info("capacity: %d calls, %d s" % (n, secs))
            r = self.phase(ph, n, secs, False, 50, measure=True)
            ph += 1
            ok = (r["lg"].get("ok", 0) == n and r["lost"] == 0 and r["in_p99"] is not None
                  and r["in_p99"] < 100000)
            r["pass"] = ok
            if not ok and not self.smoke and n not in retried and r["cpu"].get("not ours", 0) > 50:
                # other work took half a core or more during the step: measure it once more
                retried.add(n)
                self.notes.append("capacity %d calls: failed (ingress p99 %s ms, lost %d) while other "
                                  "work took %.0f%% of a core; measured again" % (
                                      n, ms(r["in_p99"]), r["lost"], r["cpu"]["not ours"]))
                todo.insert(0, n)
                continue
            results.append(r)
            c = r["cpu"]
            info("  %d calls: %s lost %d, ingress p99 %s ms, busy %.0f%%, cpu %s" % (
                n, "PASS" if ok else "FAIL", r["lost"], ms(r["in_p99"]), r["busy"],
                " ".join("%s=%.0f%%" % (g, c.get(g, 0)) for g in GROUPS)))
            if ok:
                if best is None or n > best["n"]:
                    best = r
            else:
                if self.smoke:
                    self.check_calls(r, "capacity %d calls" % n)
                if fail is None or n < fail["n"]:
                    fail = r
                todo = []
            if fail is not None and not self.smoke:
                # refine between the largest pass and the smallest fail, in steps of 25
                lo = best["n"] if best else 0
                mid = (lo + fail["n"]) // 2 // 25 * 25
                if mid > lo and mid < fail["n"]:
                    todo = [mid]
        if not results:
            return
        results.sort(key=lambda x: x["n"])
        for r in results:
            c = r["cpu"]
            self.row("capacity", "%d calls: lost chunks; ingress p50/p99/max ms" % r["n"],
                     "%d; %s / %s / %s%s" % (r["lost"], ms(r["in_p50"]), ms(r["in_p99"]), ms(r["in_max"]),
                                             "" if r["pass"] else " (FAIL)"),
                     ">= 200 calls with p99 < 100" if r["n"] == 200 else "")
            self.row("capacity", "%d calls: CPU %% of one core: websocketd, twilio-mix, deepgram-stream, "
                     "fanout; loadgen, dg-sink; irq, steal, the rest (not ours)" % r["n"],
                     "%.0f, %.0f, %.0f, %.0f; %.0f, %.0f; %.0f, %.0f, %.0f (machine %.0f%% busy; %.0f%% of a core before; %d forks)" % (
                         c.get("websocketd", 0), c.get("twilio-mix", 0), c.get("deepgram-stream", 0),
                         c.get("fanout", 0), c.get("loadgen", 0), c.get("dg-sink", 0),
                         r["irq"], r["steal"], c.get("not ours", 0), r["busy"], r["pre"], r["forks"]))
            if r["others"] and r["others"][0][0] >= 5:
                self.notes.append("capacity %d calls: busiest other processes (%% of a core): %s" % (
                    r["n"], ", ".join("%s %.0f" % (k, v) for v, k in r["others"])))
            if r["diag"]:
                self.notes.append("capacity %d calls: call processes reported: %s" % (r["n"], r["diag"]))
        top = best if best is not None else results[0]
        n = top["n"]
        c, pss = top["cpu"], top["pss"]
        callcpu = sum(c.get(g, 0) for g in ("twilio-mix", "transcribe", "deepgram-stream", "fanout"))
        self.row("capacity", "largest step sustained (zero loss, ingress p99 < 100 ms)",
                 "%s" % ("%d calls" % best["n"] if best else "none of the steps"),
                 ">= 200 calls")
        self.row("capacity", "CPU per call at %d calls: call processes + websocketd (%% of a core)" % n,
                 "%.2f%% + %.2f%% = %.2f%%" % (callcpu / n, c.get("websocketd", 0) / n,
                                               (callcpu + c.get("websocketd", 0)) / n))
        self.row("capacity", "load tools' own CPU at %d calls: loadgen, dg-sink (%% of %d cores)" % (n, NPROC),
                 "%.1f%%, %.1f%%" % (c.get("loadgen", 0) / NPROC, c.get("dg-sink", 0) / NPROC))
        seen = max(1, top["ncalls_seen"])
        per = {g: pss.get(g, 0) / seen for g in ("twilio-mix", "transcribe", "deepgram-stream", "fanout")}
        wshare = pss.get("websocketd", 0) / seen
        self.row("capacity", "PSS per call at %d calls: mix+transcribe+dg-stream+fanout + websocketd share" % n,
                 "%.0f+%.0f+%.0f+%.0f + %.0f = %.0f KB" % (
                     per["twilio-mix"], per["transcribe"], per["deepgram-stream"], per["fanout"], wshare,
                     sum(per.values()) + wshare))
        self.capres = results

    # ---------------------------------------------------------------- frame size
    def frame_bin(self, fm):
        """a tool folder where twilio-mix and deepgram-stream run with -f fm (exec wrappers:
        no extra process stays), everything else linked to the tools under test"""
        d = os.path.join(self.tmp, "bin-f%d" % fm)
        os.makedirs(d, exist_ok=True)
        for t in os.listdir(self.bin):
            dst = os.path.join(d, t)
            if os.path.lexists(dst):
                continue
            if t in ("twilio-mix", "deepgram-stream"):
                with open(dst, "w") as f:
                    f.write("#!/bin/sh\nexec '%s' -f %d \"$@\"\n" % (os.path.join(self.bin, t), fm))
                os.chmod(dst, 0o755)
            else:
                os.symlink(os.path.join(self.bin, t), dst)
        return d

    def frames(self):
        """CPU per call and added latency at 20, 40 and 100 ms frames (twilio-mix -f and
        deepgram-stream -f together; the peer -m), no subscribers"""
        n, secs = (2, 3) if self.smoke else (50, 10)
        ph = 40
        self.fr = []
        for fm in (20, 40, 100):
            self.stop_pipeline()
            self.stop_peer()
            self.start_pipeline(self.frame_bin(fm))
            self.start_peer(fm)
            res = []
            for target in ("callpipe", "peer"):
                info("frames: %s, %d ms frames, %d calls, %d s" % (target, fm, n, secs))
                r = self.phase(ph, n, secs, False, 50, measure=True, target=target)
                ph += 1
                self.check_calls(r, "frames %d ms %s" % (fm, target))
                res.append(r)
            cp, pe = res
            self.fr.append((fm, cp, pe))
            c = cp["cpu"]
            tot = (c.get("websocketd", 0) + sum(c.get(g, 0) for g in CALL_GROUPS)) / n
            self.row("frames", "--frame-ms %d, %d calls: CPU per call %% of a core, callpipe (dg-stream) "
                     "vs peer; ingress p50 / p99 ms callpipe vs peer; dg-stream scheduled in per 20 ms"
                     % (fm, n),
                     "%.3f (%.3f) vs %.3f; %s / %s vs %s / %s; %.2f" % (
                         tot, c.get("deepgram-stream", 0) / n, pe["cpu"].get("peer", 0) / n,
                         ms(cp["in_p50"]), ms(cp["in_p99"]), ms(pe["in_p50"]), ms(pe["in_p99"]),
                         cp["wake"].get("deepgram-stream", 0)))
        self.stop_pipeline()
        self.stop_peer()
        self.start_pipeline(self.bin)
        self.start_peer()

    # ---------------------------------------------------------------- syscalls per process
    def traces(self):
        """strace -c -f on every process of one live call (with a subscriber), then on the
        peer with one call: syscalls per 20 ms of call, per process, and the commonest"""
        strace = shutil.which("strace")
        if strace is None:
            self.notes.append("strace not found: no syscall counts")
            return
        secs, hold = (4, 1.5) if self.smoke else (10, 4.0)
        for target in ("callpipe", "peer"):
            tg = self.tg[target]
            args = [os.path.join(self.tools, "loadgen"), "-p", str(tg["port"]), "-n", "1", "-s",
                    str(secs), "-P", "60", "-e", "25", "-S"]
            lg = spawn(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.sleep_until(time.monotonic() + 1.5, lg)
            t = proc_table()
            pids = [tg["root"]] + (descendants(t, tg["root"]) if target == "callpipe" else [])
            out = []
            for pid in pids:
                name = group_of(t, pid, tg["root"], tg["rootname"], lg.pid, -1)
                if name == "subscribers":
                    name = t[pid][0]
                f = os.path.join(self.tmp, "strace-%s-%d" % (target, pid))
                out.append((name, f, spawn([strace, "-c", "-f", "-q", "-o", f, "-p", str(pid)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
            time.sleep(hold)
            for _, _, p in out:
                p.send_signal(signal.SIGINT)
            for _, _, p in out:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            wait_rusage(lg, secs + 30)
            self.read_sink()
            self.server_log()
            frames = hold / 0.02
            parts = []
            for name, f, _ in out:
                tot, top = strace_counts(f)
                if tot is None:
                    continue
                parts.append("%s %.1f (%s)" % (name, tot / frames, ", ".join(
                    "%s %.1f" % (k, v / frames) for v, k in top[:3])))
            self.row("syscalls", "%s, 1 call with a subscriber: syscalls per 20 ms per process "
                     "(strace -c -f over %.0f s; the commonest)" % (target, hold), "; ".join(parts))

    # ---------------------------------------------------------------- TLS memory
    def tls_files(self):
        d = os.path.join(self.tmp, "tls")
        os.makedirs(d, exist_ok=True)
        cmds = [
            "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=callpipe bench CA' "
            "-keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE",
            "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout srv.key -out srv.csr",
            "printf 'subjectAltName=IP:127.0.0.1\\n' > ext",
            "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
            "-extfile ext -out srv.pem",
            "cat srv.pem srv.key > srv.both"]
        for c in cmds:
            if subprocess.run(c, shell=True, cwd=d, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=60).returncode != 0:
                raise Broken("openssl failed: %s" % c)
        return d

    def tls_cadir(self, d):
        """the system CA folder's hashed names, plus our throw-away CA under its hash"""
        cadir = os.path.join(d, "cadir")
        os.makedirs(cadir, exist_ok=True)
        for n in os.listdir("/etc/ssl/certs"):
            if re.match(r"^[0-9a-f]{8}\.[0-9]+$", n) and not os.path.exists(os.path.join(cadir, n)):
                os.symlink(os.path.join("/etc/ssl/certs", n), os.path.join(cadir, n))
        h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", os.path.join(d, "ca.pem")],
                           capture_output=True, text=True, timeout=30).stdout.strip()
        # OpenSSL tries HASH.0, HASH.1, ... and stops at the first missing one
        n = 0
        while h and os.path.lexists(os.path.join(cadir, "%s.%d" % (h, n))):
            if os.path.realpath(os.path.join(cadir, "%s.%d" % (h, n))) == os.path.join(d, "ca.pem"):
                break
            n += 1
        link = os.path.join(cadir, "%s.%d" % (h, n))
        if h and not os.path.lexists(link):
            os.symlink(os.path.join(d, "ca.pem"), link)
        return cadir

    def tlsmem(self):
        """deepgram-stream's memory over wss:// through a TLS front (socat, throw-away CA):
        the system CA bundle (plus our CA, so that it connects) vs a file with our CA only vs
        the default, the system CA folder looked up by hash (plus our CA under its hash)"""
        socat = shutil.which("socat")
        bundle = "/etc/ssl/certs/ca-certificates.crt"
        if socat is None or not os.path.exists(bundle):
            self.notes.append("no socat or no %s: no TLS memory figures" % bundle)
            return
        d = self.tls_files()
        with open(os.path.join(d, "bundle.pem"), "wb") as f:
            for src in (bundle, os.path.join(d, "ca.pem")):
                with open(src, "rb") as g:
                    f.write(g.read())
        ncert = open(bundle, errors="replace").read().count("BEGIN CERTIFICATE")
        cadir = self.tls_cadir(d)
        pf = os.path.join(self.tmp, "sink4.port")
        sink = spawn([os.path.join(self.tools, "dg-sink"), "-f", pf, "-o",
                      os.path.join(self.tmp, "sink4.log"), "-e", "50"],
                     stderr=open(os.path.join(self.tmp, "sink4.err"), "wb"))
        sport = self.wait_port_file(pf, sink)
        tport = freeport()
        front = spawn([socat, "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,verify=0"
                       % (tport, os.path.join(d, "srv.both")), "TCP:127.0.0.1:%d" % sport],
                      stderr=subprocess.DEVNULL)
        wait_connect(tport, 10)
        k, secs = (2, 2) if self.smoke else (10, 8)
        try:
            for label, url, ca in (
                    ("ws://", "ws://127.0.0.1:%d/v1/listen" % sport, None),
                    ("wss://, system bundle (%d CAs) + ours" % ncert, "wss://127.0.0.1:%d/v1/listen" % tport,
                     os.path.join(d, "bundle.pem")),
                    ("wss://, a CA file with only the chain's root", "wss://127.0.0.1:%d/v1/listen" % tport,
                     os.path.join(d, "ca.pem")),
                    ("wss://, the default: the system CA folder (looked up by hash) + ours",
                     "wss://127.0.0.1:%d/v1/listen" % tport, cadir)):
                self.quiet(10)
                info("TLS memory: %d deepgram-streams, %s" % (k, label))
                # OpenSSL's own variables, often set machine-wide, would load the whole bundle
                env = {"SSL_CERT_FILE": None, "SSL_CERT_DIR": None}
                if ca is not None and os.path.isdir(ca):
                    env["SSL_CERT_DIR"] = ca
                elif ca is not None:
                    env["DEEPGRAM_CA_FILE"] = ca
                cpu, rss, codes, errs = self.dg_streams(k, secs, 1.0, 20, 0, url=url, envx=env)
                self.dg_check("TLS memory, %s" % label, codes, errs)
                m = self.dg_mems
                pss = sum(x.get("Pss", 0) for x in m) / max(1, len(m))
                anon = sum(x.get("Anonymous", 0) for x in m) / max(1, len(m))
                self.row("tls", "deepgram-stream, %s: PSS, anonymous, peak RSS per process (%d streams "
                         "at once); CPU s per audio hour" % (label, k),
                         "%.2f MB, %.2f MB, %.1f MB; %.2f s/h" % (pss / 1024, anon / 1024, rss / 1024,
                                                                  cpu / (k * secs / 3600.0)))
            self.tlsfront(k, secs, d, tport)
        finally:
            stop(front)
            stop(sink)

    def tlsfront(self, k, secs, d, tport):
        """wss:// through a shared TLS front (DEEPGRAM_TLS_FRONT): k deepgram-streams speak
        plain WebSocket to one HAProxy, which does TLS (verifying the server) to the socat
        listener; their PSS, and HAProxy's peak PSS and CPU shared out per stream"""
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            self.notes.append("no haproxy: no TLS front figures")
            return
        hport = freeport()
        cfg = os.path.join(d, "front.cfg")
        with open(cfg, "w") as f:
            f.write("global\n\tmaxconn 1000\n\tnbthread 1\ndefaults\n\tmode tcp\n\ttimeout connect 5s\n"
                    "\ttimeout client 30s\n\ttimeout server 30s\n\ttimeout tunnel 1h\n"
                    "frontend fe\n\tbind 127.0.0.1:%d\n\tdefault_backend be\n"
                    "backend be\n\tserver dg 127.0.0.1:%d ssl verify required ca-file %s "
                    "verifyhost 127.0.0.1\n" % (hport, tport, os.path.join(d, "ca.pem")))
        hp = spawn([haproxy, "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                   stderr=open(os.path.join(self.tmp, "haproxy-front.err"), "wb"))
        wait_connect(hport, 10)
        peak, done = [0, 0], threading.Event()

        def sample():  # HAProxy's PSS and anonymous PSS while the streams run: their peaks
            while not done.wait(0.25):
                m = smaps_rollup(hp.pid)
                peak[0] = max(peak[0], m.get("Pss", 0))
                peak[1] = max(peak[1], m.get("Pss_Anon", 0))
        self.quiet(10)
        info("TLS memory: %d deepgram-streams through a shared HAProxy TLS front" % k)
        idle, c0 = smaps_rollup(hp.pid), proc_ticks(hp.pid)
        t = threading.Thread(target=sample)
        t.start()
        try:
            env = {"SSL_CERT_FILE": None, "SSL_CERT_DIR": None,
                   "DEEPGRAM_TLS_FRONT": "127.0.0.1:%d" % hport}
            cpu, rss, codes, errs = self.dg_streams(k, secs, 1.0, 20, 0, url="wss://127.0.0.1:%d/v1/listen"
                                                    % tport, envx=env)
        finally:
            done.set()
            t.join()
        hcpu = (proc_ticks(hp.pid) - c0) / float(os.sysconf("SC_CLK_TCK"))
        stop(hp)
        self.dg_check("TLS memory, through a TLS front", codes, errs)
        m = self.dg_mems
        pss = sum(x.get("Pss", 0) for x in m) / max(1, len(m))
        hours = k * secs / 3600.0
        self.row("tls", "wss:// through a shared HAProxy TLS front (%d streams at once): PSS per "
                 "deepgram-stream + HAProxy's peak PSS / streams (HAProxy idle; its anonymous "
                 "memory a connection); CPU s per audio hour, deepgram-stream + HAProxy per stream" % k,
                 "%.2f + %.2f = %.2f MB (idle %.1f MB; %.0f kB); %.2f + %.2f s/h"
                 % (pss / 1024, peak[0] / 1024.0 / k, (pss + peak[0] / float(k)) / 1024,
                    idle.get("Pss", 0) / 1024.0, max(0, peak[1] - idle.get("Pss_Anon", 0)) / float(k),
                    cpu / hours, hcpu / k / hours))

    # ---------------------------------------------------------------- the design's floor
    def floor(self):
        """what a pipe hop with a wake-up costs on this machine (bench/floor.c), and what
        websocketd costs per message (from the vs-peer runs)"""
        rc = subprocess.run([os.path.join(self.tools, "floor"), "-n", "20000" if self.smoke else "200000"],
                            capture_output=True, text=True, timeout=120)
        kv = dict(x.split("=", 1) for x in rc.stdout.split() if "=" in x)
        if rc.returncode != 0 or "hop_ns" not in kv:
            self.problem("floor failed: %s" % rc.stderr.strip()[-200:])
            return
        self.row("floor", "one pipe hop with a wake-up: busy (ping-pong, per side) vs paced (reader "
                 "woken every 1 ms, CPU idle between); one timer wake-up (poll 1 ms)",
                 "%.1f us vs %.1f us; %.1f us" % (int(kv["hop_ns"]) / 1000.0, int(kv["paced_ns"]) / 1000.0,
                                                 int(kv["timer_ns"]) / 1000.0))
        if getattr(self, "vs", None):
            n, cp, _ = self.vs[-1]
            msgs = 100 + 4  # per call per second: 2 media messages every 20 ms in, 4 Results out
            w = cp["cpu"].get("websocketd", 0) / 100.0 / n / msgs * 1e6
            self.row("floor", "websocketd CPU per message at %d calls (%d messages a second a call)"
                     % (n, msgs), "%.1f us" % w)

    # ---------------------------------------------------------------- charts
    def charts(self):
        gp = shutil.which("gnuplot")
        if gp is None or not getattr(self, "vs", None):
            self.notes.append("no charts: %s" % ("gnuplot not found" if gp is None else "no vs-peer runs"))
            return
        base = self.outf[:-3] if self.outf.endswith(".md") else self.outf
        dat = os.path.join(self.tmp, "cpu.dat")
        with open(dat, "w") as f:
            f.write("# calls callpipe-total callpipe-ours peer\n")
            for n, cp, pe in self.vs:
                ours = sum(cp["cpu"].get(g, 0) for g in CALL_GROUPS) / n
                f.write("%d %.4f %.4f %.4f\n" % (n, ours + cp["cpu"].get("websocketd", 0) / n, ours,
                                                  pe["cpu"].get("peer", 0) / n))
        n, cp, pe = self.vs[-1]
        files = {}
        for name, v in (("cp-in", cp["lat"]), ("pe-in", pe["lat"]), ("cp-eg", cp["egress"]),
                        ("pe-eg", pe["egress"])):
            files[name] = os.path.join(self.tmp, "%s.dat" % name)
            write_cdf(files[name], v)
        self.chart_pngs = [base + "-cpu.png", base + "-latency.png"]
        script = CHART % {"cpu_png": self.chart_pngs[0], "lat_png": self.chart_pngs[1], "dat": dat,
                          "n": n, "target": 0.16, **files}
        r = subprocess.run([gp], input=script, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            self.problem("gnuplot failed: %s" % r.stderr.strip()[-300:])
            return
        info("charts: %s" % " ".join(self.chart_pngs))

    # ---------------------------------------------------------------- 4. deepgram-stream
    def wav_header(self):
        """the WAV header twilio-mix writes on a pipe (length fields at their maximum)"""
        cap = self.capture(1)
        with open(cap, "rb") as f:
            p = spawn([os.path.join(self.bin, "twilio-mix")], stdin=f, stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL)
            data = p.stdout.read()
            p.wait(30)
        # everything before the audio: 8000 Hz stereo = 16000 bytes a second
        hl = len(data) - 16000
        if hl <= 0 or data[:4] != b"RIFF":
            raise Broken("unexpected twilio-mix output (%d bytes)" % len(data))
        return data[:hl]

    def dg_streams(self, k, secs, speed, block_ms, sink_port, extra=(), cmd=None, url=None, envx=None):
        """k deepgram-streams (or k copies of cmd) fed stereo mu-law in blocks of block_ms,
        speed x real time. Returns (cpu seconds total, max rss KB, exit codes, stderr texts)."""
        hdr = self.wav_header()
        env = dict(os.environ)
        env["DEEPGRAM_API_KEY"] = "benchkey"
        env.update(envx or {})
        for name in [n for n, v in env.items() if v is None]:
            del env[name]  # None: unset
        url = url or "ws://127.0.0.1:%d/v1/listen" % sink_port
        procs, reads = [], []
        for i in range(k):
            err = open(os.path.join(self.tmp, "dg-%d.err" % i), "wb")
            pre, read = self.runstat("dg-%d" % i)
            reads.append(read)
            p = spawn(pre + (cmd or [os.path.join(self.bin, "deepgram-stream"), "-u", url] + list(extra)),
                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, env=env)
            p.stdin.write(hdr)
            p.stdin.flush()
            procs.append(p)
        blk = bytes(((i * 37) & 0x7f) | 0x80 for i in range(16 * block_ms))
        nblk = int(secs * 1000 / block_ms)
        # non-blocking writes: a reader that stops reading (deepgram-stream pauses its
        # input when its replay buffer is full and the input is faster than real time)
        # is given up on after 2 s without progress, never waited for
        pend = [bytearray() for _ in procs]
        moved = [time.monotonic() for _ in procs]
        stalled = [False for _ in procs]
        for p in procs:
            os.set_blocking(p.stdin.fileno(), False)
        t0 = time.monotonic()
        deadline = t0 + secs / speed + 15
        b = 0
        while time.monotonic() < deadline:
            now = time.monotonic()
            while b < nblk and t0 + b * block_ms / 1000.0 / speed <= now:
                for i in range(len(procs)):
                    if not stalled[i]:
                        pend[i] += blk
                b += 1
            busy = False
            for i, p in enumerate(procs):
                if stalled[i] or not pend[i]:
                    continue
                try:
                    w = os.write(p.stdin.fileno(), pend[i])
                    if w > 0:
                        del pend[i][:w]
                        moved[i] = now
                except BlockingIOError:
                    pass
                except OSError:
                    stalled[i] = True
                if pend[i] and now - moved[i] > 2:
                    stalled[i] = True
                busy = busy or (pend[i] and not stalled[i])
            if b >= nblk and not busy:
                break
            nxt = t0 + b * block_ms / 1000.0 / speed if b < nblk else now + 0.005
            time.sleep(max(0.0005, min(0.005 if busy else 1, nxt - time.monotonic())))
        self.dg_mems = [mem_of_child(p.pid) for p in procs]
        self.dg_mem = self.dg_mems[0]
        self.stalled = sum(stalled)
        for i, p in enumerate(procs):
            try:
                p.stdin.close()
            except OSError:
                pass
            if stalled[i]:
                # its input is paused: end the stream as a supervisor would, with SIGTERM
                signal_child(p.pid, signal.SIGTERM)
        cpu, rss, codes, errs = 0.0, 0, [], []
        for i, p in enumerate(procs):
            rc, _ = wait_rusage(p, 60)
            r_rss, r_cpu, _ = reads[i]()
            cpu += r_cpu
            rss = max(rss, r_rss)
            codes.append(rc)
            with open(os.path.join(self.tmp, "dg-%d.err" % i), errors="replace") as f:
                errs.append(f.read())
        return cpu, rss, codes, errs

    def dgcost(self):
        pf = os.path.join(self.tmp, "sink2.port")
        sink = spawn([os.path.join(self.tools, "dg-sink"), "-f", pf, "-o",
                      os.path.join(self.tmp, "sink2.log"), "-e", "50"],
                     stderr=open(os.path.join(self.tmp, "sink2.err"), "wb"))
        port = self.wait_port_file(pf, sink)
        pf0 = os.path.join(self.tmp, "sink3.port")
        sink0 = spawn([os.path.join(self.tools, "dg-sink"), "-f", pf0, "-o",
                       os.path.join(self.tmp, "sink3.log"), "-e", "0"],
                      stderr=open(os.path.join(self.tmp, "sink3.err"), "wb"))
        port0 = self.wait_port_file(pf0, sink0)
        try:
            self.quiet(20)
            # real time: 20 ms blocks, as twilio-mix writes them on a live call
            k, secs = (2, 2) if self.smoke else (20, 20)
            info("deepgram-stream: %d streams x %d s in real time" % (k, secs))
            cpu, rss, codes, errs = self.dg_streams(k, secs, 1.0, 20, port)
            self.dg_check("real time", codes, errs)
            if self.stalled:
                self.problem("real time: %d deepgram-streams stopped reading their input" % self.stalled)
            hours = k * secs / 3600.0
            self.row("dg-stream", "CPU s per hour of stereo audio, real time (%d streams x %d s, 20 ms writes)"
                     % (k, secs), "%.2f s/h" % (cpu / hours), "< 2 s/h")
            self.row("dg-stream", "peak RSS, one live stream (%s)" % self.memnote(), "%.1f MB" % (rss / 1024))
            self.relay_floor(k, secs)
            # the same with 100 ms frames (twilio-mix -f 100, deepgram-stream -f 100): a
            # fifth of the wake-ups, for 80 ms more latency
            info("deepgram-stream: %d streams x %d s in real time, 100 ms frames" % (k, secs))
            cpu, rss, codes, errs = self.dg_streams(k, secs, 1.0, 100, port, extra=("-f", "100"))
            self.dg_check("real time, 100 ms", codes, errs)
            self.row("dg-stream", "CPU s per hour, real time with 100 ms frames (-f 100 here and in twilio-mix)",
                     "%.2f s/h" % (cpu / hours))
            # bulk: 100 ms blocks at 100x real time
            secs = 60 if self.smoke else 1800
            info("deepgram-stream: %d s of audio at 100x real time" % secs)
            cpu, rss, codes, errs = self.dg_streams(1, secs, 100.0, 100, port)
            self.dg_check("bulk", codes, errs)
            if self.stalled:
                self.notes.append("bulk: deepgram-stream paused its input (replay buffer full at 100x)")
            self.row("dg-stream", "CPU s per hour of stereo audio, bulk (%g min at 100x, 100 ms writes)"
                     % (secs / 60), "%.2f s/h" % (cpu / (secs / 3600.0)), "< 2 s/h")
            # full replay buffer: a sink that never sends a final, so nothing is ever trimmed
            mx, secs = (1000, 3) if self.smoke else (60000, 75)
            info("deepgram-stream: replay buffer %d ms filled by %d s of audio without finals" % (mx, secs))
            cpu, rss, codes, errs = self.dg_streams(1, secs, 10.0, 100, port0, extra=("-m", str(mx)))
            full = any("replay buffer full" in e for e in errs) or self.stalled
            self.dg_check("replay", codes, errs, allow_drop=True)
            if not full:
                self.problem("replay-buffer run: the buffer never filled")
            self.row("dg-stream", "peak RSS with a full replay buffer (-m %d, %d s at 10x without finals%s; %s)"
                     % (mx, secs, ", input paused when full" if self.stalled else "", self.memnote()),
                     "%.1f MB" % (rss / 1024), "< 12 MB")
        finally:
            stop(sink)
            stop(sink0)

    def relay_floor(self, k, secs):
        """the same feed through the leanest relay there is (socat: read the pipe, write a
        TCP socket), for scale: the cost of 50 wake-ups a second on this machine"""
        socat = shutil.which("socat")
        if socat is None:
            self.notes.append("socat not found: no relay reference figure")
            return
        port = freeport()
        lst = spawn([socat, "-u", "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,backlog=64" % port,
                     "OPEN:/dev/null,wronly"], stderr=subprocess.DEVNULL)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.05)
        try:
            cpu, _, codes, _ = self.dg_streams(k, secs, 1.0, 20, 0,
                                               cmd=[socat, "-u", "-", "TCP:127.0.0.1:%d" % port])
        finally:
            stop(lst)
        if any(codes):
            self.notes.append("socat relay reference: exit codes %s" % codes)
        self.row("dg-stream", "for scale: socat relaying the same real-time feed (pipe -> TCP)",
                 "%.2f s/h" % (cpu / (k * secs / 3600.0)))

    def memnote(self):
        m = self.dg_mem
        if "Rss" not in m:
            return "no smaps figures"
        return "at the end: %.1f MB anonymous, %.1f MB shared-library pages" % (
            m.get("Anonymous", 0) / 1024, (m["Rss"] - m.get("Anonymous", 0)) / 1024)

    def dg_check(self, what, codes, errs, allow_drop=False):
        bad = [c for c in codes if c != 0]
        if bad:
            self.problem("deepgram-stream (%s): exit codes %s: %s" % (what, bad, errs[codes.index(bad[0])][-400:]))
        for e in errs:
            m = re.search(r"reconnects (\d+).*dropped audio (\d+) ms", e)
            if m and (int(m.group(1)) or (int(m.group(2)) and not allow_drop)):
                self.problem("deepgram-stream (%s): %s" % (what, m.group(0)))
                break

    # ---------------------------------------------------------------- output
    def table(self):
        w = [max(len(r[i]) for r in self.rows + [("section", "figure", "value", "target")]) for i in range(4)]
        lines = ["| %s | %s | %s | %s |" % ("section".ljust(w[0]), "figure".ljust(w[1]),
                                           "value".ljust(w[2]), "target".ljust(w[3])),
                 "|%s|%s|%s|%s|" % tuple("-" * (x + 2) for x in w)]
        for r in self.rows:
            lines.append("| %s | %s | %s | %s |" % tuple(r[i].ljust(w[i]) for i in range(4)))
        return "\n".join(lines) + "\n"

    def write(self):
        tab = self.table()
        sys.stdout.write(tab)
        sys.stdout.flush()
        model = "unknown"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        try:
            commit = subprocess.run(["git", "-C", self.top, "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True, timeout=10).stdout.strip() or "unknown"
            # the results of an earlier run (bench/RESULTS*) are not a change to the code
            dirty = subprocess.run(["git", "-C", self.top, "status", "--porcelain", "--untracked-files=no",
                                    "--", ".", ":!bench/RESULTS*"],
                                   capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            commit, dirty = "unknown", ""
        head = ["# callpipe benchmark results%s" % (" (smoke run: figures mean nothing)" if self.smoke else ""),
                "",
                "- date: %s" % time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                "- machine: %d CPUs (nproc), %s" % (len(os.sched_getaffinity(0)), model),
                "- commit: %s%s" % (commit, " (work tree had uncommitted changes)" if dirty else ""),
                "- load average before / after the run: %s / %s (other work on the machine skews every "
                "figure; the \"not ours\" figures show how much ran beside each step)" % (self.loadavg, loadavg()),
                "- waited for a quiet machine: %.0f s (the run stops waiting after 100 s)" % self.waited,
                "- run time: %.0f s (`make bench`; method: bench/README.md)" % (time.monotonic() - self.t_start),
                ""]
        tail_ = [""]
        if self.notes:
            tail_ += ["Notes:", ""] + ["- " + n for n in self.notes] + [""]
        if self.problems:
            tail_ += ["Problems:", ""] + ["- " + n for n in self.problems] + [""]
        tmp = self.outf + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(head) + tab + "\n".join(tail_))
        os.rename(tmp, self.outf)
        info("results written to %s" % self.outf)

    def want(self, part):
        return self.only is None or part in self.only

    def main(self):
        try:
            if self.want("mixer"):
                info("mixer")
                self.mixer()
            info("server: pipeline.sh + websocketd + dg-sink; the peer")
            self.start_server()
            self.start_peer()
            if self.want("latency"):
                self.latency()
            if self.want("versus"):
                self.versus()
            if self.want("trace"):
                self.traces()
            if self.want("capacity"):
                self.capacity()
            if self.want("frames"):
                self.frames()
            self.stop_server()
            if self.want("dgcost"):
                self.dgcost()
            if self.want("tls"):
                self.tlsmem()
            if self.want("floor"):
                self.floor()
            if self.want("charts"):
                self.charts()
        except Broken as e:
            self.problem(str(e))
        except KeyboardInterrupt:
            self.interrupted = True
            self.problem("interrupted")
        finally:
            self.stop_server()
            for p in reversed(STARTED):
                stop(p, timeout=5)
            if self.rows and getattr(self, "interrupted", False):
                sys.stdout.write(self.table())  # an interrupted run does not replace the results
            elif self.rows:
                self.write()
            if not self.problems:
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                info("kept the run's files in %s" % self.tmp)
        return 1 if self.problems else 0


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return "n/a"
    return "%.1fx" % (a / b)


def pss_per_call(r):
    """the server's PSS under load minus its idle PSS, per call (KB)"""
    tot = sum(v for g, v in r["pss"].items() if g not in ("loadgen", "dg-sink"))
    return max(0, tot - r["idle_pss"]) / max(1, r["ncalls_seen"])


def strace_counts(path):
    """(total calls, [(calls, syscall)...] largest first) from strace -c output"""
    tot, rows = None, []
    try:
        with open(path) as f:
            for line in f:
                v = line.split()
                if len(v) < 5 or not v[0][0].isdigit():
                    continue
                try:
                    calls = int(v[3])
                except ValueError:
                    continue
                if v[-1] == "total":
                    tot = calls
                else:
                    rows.append((calls, v[-1]))
    except OSError:
        return None, []
    rows.sort(reverse=True)
    return tot, rows


def wait_connect(port, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def write_cdf(path, v):
    """a sorted sample as (ms, share at or below) pairs, at most ~2000 lines"""
    v = sorted(v)
    step = max(1, len(v) // 2000)
    with open(path, "w") as f:
        if not v:
            f.write("0 0\n")
        for i in range(0, len(v), step):
            f.write("%.3f %.5f\n" % (v[i] / 1000.0, (i + 1) / len(v)))
        if v:
            f.write("%.3f 1\n" % (v[-1] / 1000.0))


CHART = """set terminal pngcairo size 900,540 noenhanced font ",11"
set output "%(cpu_png)s"
set title "CPU per call, real-time two-track calls with one subscriber each"
set xlabel "concurrent calls"
set ylabel "%% of one core per call"
set yrange [0:*]
set xrange [0:*]
set key below
set grid
plot "%(dat)s" using 1:2 with linespoints lw 2 pt 7 title "callpipe (all, with websocketd)", \\
     "%(dat)s" using 1:3 with linespoints lw 2 pt 5 title "callpipe without websocketd", \\
     "%(dat)s" using 1:4 with linespoints lw 2 pt 9 title "Node peer", \\
     "%(dat)s" using 1:($4*1.6) with lines dt 2 lc rgb "gray60" title "1.6 x the peer (target for callpipe)", \\
     %(target)s with lines dt 2 lc rgb "gray40" title "target for callpipe without websocketd"
set output "%(lat_png)s"
set title "Latency distribution at %(n)d calls (share of samples at or below)"
set xlabel "ms (log scale)"
set ylabel "share of samples"
set logscale x
set yrange [0:1.02]
set xrange [0.05:*]
set key bottom right
plot "%(cp-in)s" using 1:2 with lines lw 2 title "callpipe ingress (caller -> Deepgram)", \\
     "%(pe-in)s" using 1:2 with lines lw 2 title "peer ingress", \\
     "%(cp-eg)s" using 1:2 with lines lw 2 dt 3 title "callpipe egress (Deepgram -> subscriber)", \\
     "%(pe-eg)s" using 1:2 with lines lw 2 dt 3 title "peer egress"
"""


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def fmt_int(x):
    return "{:,}".format(int(round(x)))


def tail(path, n=5):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(f.read().splitlines()[-n:])
    except OSError:
        return ""


def main():
    a = {"smoke": False, "top": None, "bin": None, "tools": None, "out": None, "only": None}
    argv = sys.argv[1:]
    while argv:
        o = argv.pop(0)
        if o == "--smoke":
            a["smoke"] = True
        elif o in ("--top", "--bin", "--tools", "--out", "--only") and argv:
            a[o[2:]] = argv.pop(0)
        else:
            sys.stderr.write("usage: bench.py [--smoke] [--only PART,...] --top DIR --bin DIR --tools DIR --out FILE\n")
            return 100
    if None in (a["top"], a["bin"], a["tools"], a["out"]):
        sys.stderr.write("usage: bench.py [--smoke] [--only PART,...] --top DIR --bin DIR --tools DIR --out FILE\n")
        return 100

    def on_signal(s, f):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)
    return Bench(a).main()


if __name__ == "__main__":
    sys.exit(main())
