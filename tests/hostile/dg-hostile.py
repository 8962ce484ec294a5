#!/usr/bin/python3
# dg-hostile.py PORTFILE MESSAGES: a one-connection stand-in for Deepgram that sends
# hostile messages. Raw RFC 6455 over a socket (no library), so a "message" can be
# anything: invalid UTF-8, NUL bytes, 10 MB. Listens on 127.0.0.1 port 0 and writes the
# port to PORTFILE; accepts one upgrade, sends every line of MESSAGES (without its
# newline) as one text frame, waits (5 s at most) for the client's CloseStream or
# Close, answers with Close 1000 and exits. For tests/hostile.sh only.
import base64, hashlib, socket, struct, sys, threading, time

def frame(op, payload):
    n = len(payload)
    if n < 126:
        h = struct.pack('!BB', 0x80 | op, n)
    elif n < 65536:
        h = struct.pack('!BBH', 0x80 | op, 126, n)
    else:
        h = struct.pack('!BBQ', 0x80 | op, 127, n)
    return h + payload

def recv_exact(c, n):
    b = b''
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b

def reader(c, done):
    try:
        while True:
            b0, b1 = recv_exact(c, 2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack('!H', recv_exact(c, 2))[0]
            elif n == 127:
                n = struct.unpack('!Q', recv_exact(c, 8))[0]
            mask = recv_exact(c, 4) if b1 & 0x80 else b'\0\0\0\0'
            data = bytes(x ^ mask[i % 4] for i, x in enumerate(recv_exact(c, n))) if n < 4096 else recv_exact(c, n)
            op = b0 & 0x0f
            if op == 8 or (op == 1 and b'CloseStream' in data):
                done.set()
                return
    except (EOFError, OSError):
        done.set()

def main():
    portfile, msgs = sys.argv[1], sys.argv[2]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', 0))
    s.listen(1)
    s.settimeout(20)
    with open(portfile + '.tmp', 'w') as f:
        f.write('%d\n' % s.getsockname()[1])
    import os
    os.rename(portfile + '.tmp', portfile)
    c, _ = s.accept()
    c.settimeout(20)
    req = b''
    while b'\r\n\r\n' not in req:
        d = c.recv(4096)
        if not d:
            return
        req += d
    key = b''
    for line in req.split(b'\r\n'):
        if line.lower().startswith(b'sec-websocket-key:'):
            key = line.split(b':', 1)[1].strip()
    acc = base64.b64encode(hashlib.sha1(key + b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest())
    c.sendall(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              b'Sec-WebSocket-Accept: ' + acc + b'\r\ndg-request-id: hostile\r\n\r\n')
    done = threading.Event()
    threading.Thread(target=reader, args=(c, done), daemon=True).start()
    with open(msgs, 'rb') as f:
        for line in f:
            if line.endswith(b'\n'):
                line = line[:-1]
            c.sendall(frame(1, line))
    done.wait(5)
    try:
        c.sendall(frame(8, struct.pack('!H', 1000)))
        time.sleep(0.1)
    except OSError:
        pass
    c.close()

main()
