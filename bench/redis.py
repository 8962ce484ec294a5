#!/usr/bin/python3
"""bench/redis.py: the Redis row of `make bench` (run through bench/redis.sh).

Three pipeline.sh hosts and one dg-sink: L without Redis, A and B sharing one
redis-server (no persistence). loadgen plays N real-time calls, asking the sink for a
Results message per channel every E chunks; each Results carries the sink's send time
("bt<us>", CLOCK_MONOTONIC). Phase 1, the local FIFO path: calls into L, one /client
subscriber per call on L (subscribe reading fanout's FIFO). Phase 2, through Redis:
calls into A, one /client subscriber per call on B (transcribe -p callpipe-publish: fanout -o ->
Redis -> callpipe-follow). The subscribers are the same python websockets client in a
process of its own, attached before the call starts; egress = receive time - send time. Redis CPU (utime +
stime of redis-server over the run) and memory (INFO used_memory after the calls, the
streams retained) per call; callpipe-publish and callpipe-follow CPU per call, from
/proc sampled every 0.2 s. Prints a markdown table; --out FILE writes it there too."""
import argparse, asyncio, json, os, signal, subprocess, sys, time, urllib.request

from benchlib import each_proc, freeport


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))]


def cpu_ns(pid):
    """time on CPU in ns (schedstat: clock ticks are too coarse for a small process)"""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def comm_ticks():
    """{pid: (comm, CPU ns)} for callpipe-publish and callpipe-follow processes"""
    out = {}
    for pid, c in each_proc("comm"):
        c = c.strip()
        if c in ("callpipe-publis", "callpipe-follow"):
            t = cpu_ns(pid)
            if t is not None:
                out[pid] = (c, t)
    return out


def redis_info(port, field):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "memory"], capture_output=True,
                         text=True, timeout=10).stdout
    for line in out.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":")[1])
    return 0


async def subscriber(port, sid, samples, state, deadline):
    """one /client subscriber; until the call exists (a host without issue 9's wait
    answers unknown-call at once) it asks again every 50 ms"""
    import websockets
    url = "ws://127.0.0.1:%d/client?callsid=%s&wait=60" % (port, sid)
    while time.monotonic() < deadline:
        try:
            async with websockets.connect(url, compression=None, ping_interval=None,
                                          open_timeout=30, max_size=1 << 22) as ws:
                while True:
                    m = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
                    now = time.monotonic_ns() // 1000
                    if '"bt' in m:
                        try:
                            t = json.loads(m)["channel"]["alternatives"][0]["transcript"]
                            samples.append(now - int(t[2:]))
                        except (ValueError, KeyError, IndexError):
                            state["bad"] += 1
                    elif '"callpipe.end"' in m and "unknown-call" not in m:
                        state["ended"] += 1
                        return
                    elif '"error"' in m or "unknown-call" in m:
                        break  # not there yet: ask again
        except websockets.exceptions.ConnectionClosed:
            return  # the call ended (a host without callpipe.end just closes)
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
            state["failed"] += 1
            return
        await asyncio.sleep(0.05)


def subs_main(port, sids, secs, outpath):
    """child process: one subscriber per call; writes the samples as JSON"""
    samples, state = [], {"attached": 0, "ended": 0, "bad": 0, "failed": 0}

    async def run():
        deadline = time.monotonic() + secs
        await asyncio.gather(*[subscriber(port, s, samples, state, deadline) for s in sids])
    asyncio.run(run())
    with open(outpath, "w") as f:
        json.dump({"samples": samples, "state": state}, f)


class Bench:
    def __init__(self, a):
        self.a = a
        self.tmp = a.tmp
        self.procs = []

    def spawn(self, args, log, env=None):
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=open(log, "ab"),
                             stderr=subprocess.STDOUT, env=env)
        self.procs.append(p)
        return p

    def wait_http(self, port, what):
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("bench: fatal: %s did not start" % what)

    def start(self):
        a = self.a
        self.load0 = os.getloadavg()[0]
        self.rport = freeport()
        self.redis = self.spawn(["redis-server", "--port", str(self.rport), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--loglevel", "warning"],
                                os.path.join(self.tmp, "redis.log"))
        pf = os.path.join(self.tmp, "sink.port")
        self.spawn([os.path.join(a.tools, "dg-sink"), "-f", pf, "-o",
                    os.path.join(self.tmp, "sink.log"), "-e", "50"], os.path.join(self.tmp, "sink.err"))
        end = time.monotonic() + 10
        while not os.path.exists(pf) and time.monotonic() < end:
            time.sleep(0.05)
        with open(pf) as f:
            sport = int(f.read())
        self.ports = {}
        for h in ("l", "a", "b"):
            port = freeport()
            env = dict(os.environ)
            for k in ("TWILIO_AUTH_TOKEN", "CALLPIPE_PUBLIC_URL", "CALLPIPE_CLIENT_TOKEN", "CERT_PEM",
                      "KEY_PEM"):
                env.pop(k, None)
            env.update({"CALLPIPE_BIN": a.bin, "CALLPIPE_DIR": os.path.join(self.tmp, h),
                        "DEEPGRAM_API_KEY": "benchkey", "DEEPGRAM_URL": "ws://127.0.0.1:%d/v1/listen" % sport,
                        "PROXY_URL": "127.0.0.1:%d" % port, "CALLPIPE_MAX_CONNECTIONS": "4000",
                        "CALLPIPE_LOGLEVEL": "error", "CALLPIPE_DRAIN_SECONDS": "10",
                        "CALLPIPE_REDIS_URL": "redis://127.0.0.1:%d" % self.rport})
            if h == "l":
                del env["CALLPIPE_REDIS_URL"]
            self.spawn(["sh", os.path.join(a.top, "pipeline.sh")], os.path.join(self.tmp, h + ".log"), env)
            self.ports[h] = port
        for h, port in self.ports.items():
            self.wait_http(port, "host " + h)

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def phase(self, ph, callhost, subhost):
        a = self.a
        run = os.getpid() & 0xffffffff
        sids = ["CA%08x%016x%08x" % (run, 0, (ph << 20) | i) for i in range(a.calls)]
        total = int(a.calls * 10 / 1000.0 + a.secs + 60)
        out = os.path.join(self.tmp, "subs-%d.json" % ph)
        sp = subprocess.Popen([sys.executable, __file__, "--subs", str(self.ports[subhost]), "--secs",
                               str(total), "--out", out] + sids)
        time.sleep(3)  # every subscriber waiting for its call
        mem0 = redis_info(self.rport, "used_memory")
        rt0 = cpu_ns(self.redis.pid)
        seen = {}
        lg = subprocess.Popen([os.path.join(a.tools, "loadgen"), "-p", str(self.ports[callhost]), "-n",
                               str(a.calls), "-s", str(a.secs), "-i", "10", "-P", str(ph), "-e",
                               str(a.every), "-r", "%08x" % run],
                              stdout=open(os.path.join(self.tmp, "loadgen-%d.out" % ph), "wb"),
                              stderr=open(os.path.join(self.tmp, "loadgen-%d.err" % ph), "wb"))
        t0 = time.monotonic()
        while sp.poll() is None or lg.poll() is None:
            for pid, (c, t) in comm_ticks().items():
                seen[pid] = (c, max(t, seen.get(pid, (c, 0))[1]))
            if time.monotonic() - t0 > total + 30:
                break
            time.sleep(0.2)
        lg.wait()
        sp.wait()
        time.sleep(1)
        rt1 = cpu_ns(self.redis.pid)
        mem1 = redis_info(self.rport, "used_memory")
        res = {"redis_cpu_s": (rt1 - rt0) / 1e9, "redis_mem": mem1 - mem0,
               "redis_rss": redis_info(self.rport, "used_memory_rss")}
        for c in ("callpipe-publis", "callpipe-follow"):
            res[c] = sum(t for cc, t in seen.values() if cc == c) / 1e9
            res[c + "#"] = sum(1 for cc, _ in seen.values() if cc == c)
        # the retained streams, measured key by key (MEMORY USAGE, every element)
        use, ents = [], []
        for sid in sids[:20]:
            k = "callpipe:call:" + sid
            q = lambda *c: subprocess.run(["redis-cli", "-p", str(self.rport)] + list(c),
                                          capture_output=True, text=True, timeout=10).stdout.strip()
            try:
                use.append(int(q("MEMORY", "USAGE", k, "SAMPLES", "0")) +
                           int(q("MEMORY", "USAGE", "callpipe:info:" + sid, "SAMPLES", "0")))
                ents.append(int(q("XLEN", k)))
            except ValueError:
                pass
        res["key_bytes"] = sum(use) / len(use) if use else 0
        res["entries"] = sum(ents) / len(ents) if ents else 0
        with open(out) as f:
            res.update(json.load(f))
        return res

    def run(self):
        return {"a": self.phase(1, "l", "l"), "b": self.phase(2, "a", "b")}

    def table(self, r):
        a = self.a
        n, secs = a.calls, a.secs
        loc, rem = r["a"]["samples"], r["b"]["samples"]
        r = dict(r["b"], a=r["a"], b=r["b"])
        ms = lambda us: "%.1f" % (us / 1000.0)
        added = pct(rem, 99) - pct(loc, 99)
        rows = [
            ("egress p50 / p99 / max ms, local FIFO path (calls and subscribers on L)",
             "%s / %s / %s" % (ms(pct(loc, 50)), ms(pct(loc, 99)), ms(max(loc) if loc else 0)), ""),
            ("egress p50 / p99 / max ms, through Redis (calls on A, subscribers on B)",
             "%s / %s / %s" % (ms(pct(rem, 50)), ms(pct(rem, 99)), ms(max(rem) if rem else 0)), ""),
            ("added egress p99 ms (Redis - local)", ms(added), "< 10 ms: %s" % ("met" if added < 10000 else "NOT met")),
            ("Results timed: local / Redis; Redis subscribers ended with callpipe.end",
             "%d / %d; %d of %d" % (len(loc), len(rem), r["b"]["state"]["ended"], n), ""),
            ("Redis CPU per call (% of one core)", "%.3f" % (r["redis_cpu_s"] / secs / n * 100), "%.0f ms per call" % (r["redis_cpu_s"] / n * 1000)),
            ("Redis memory per call, %d s call retained (KiB)" % secs, "%.0f" % (r["key_bytes"] / 1024.0),
             "%.0f entries, %.0f bytes each; used_memory grew %.0f KiB per call" %
             (r["entries"], r["key_bytes"] / max(1, r["entries"]), r["redis_mem"] / n / 1024.0)),
            ("callpipe-publish CPU per call (% of one core)",
             "%.3f" % (r["callpipe-publis"] / secs / n * 100),
             "%.0f ms per call, %d processes" % (r["callpipe-publis"] / n * 1000, r["callpipe-publis#"])),
            ("callpipe-follow CPU per remote subscriber (% of one core)",
             "%.3f" % (r["callpipe-follow"] / secs / n * 100),
             "%.0f ms per call, %d processes" % (r["callpipe-follow"] / n * 1000, r["callpipe-follow#"])),
        ]
        head = ("## Redis: %d calls, a subscriber per call on another host\n\n"
                "%s, %d s calls, Results every %d chunks per channel; %s; nproc %d; load before %.2f\n\n"
                "| figure | value | note |\n|---|---|---|\n" %
                (n, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), secs, a.every,
                 subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2],
                 os.cpu_count(), self.load0))
        return head + "".join("| %s | %s | %s |\n" % x for x in rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--subs", type=int)
    ap.add_argument("--secs", type=int, default=20)
    ap.add_argument("--out")
    ap.add_argument("--top")
    ap.add_argument("--bin")
    ap.add_argument("--tools")
    ap.add_argument("--tmp")
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("sids", nargs="*")
    a = ap.parse_args()
    if a.subs:
        subs_main(a.subs, a.sids, a.secs, a.out)
        return 0
    b = Bench(a)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(1))
    try:
        b.start()
        t = b.table(b.run())
    finally:
        b.stop()
    sys.stdout.write(t)
    if a.out:
        with open(a.out, "w") as f:
            f.write(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
