"""bench/benchlib.py: what bench.py and redis.py both need (ports, /proc)."""
import os
import socket


def freeport():
    """a free TCP port on 127.0.0.1, chosen now"""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def each_proc(name):
    """(pid, text of /proc/PID/NAME) for every process still there to read it"""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/%s" % (d, name)) as f:
                yield int(d), f.read()
        except OSError:
            continue
