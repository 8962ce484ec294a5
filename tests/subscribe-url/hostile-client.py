#!/usr/bin/python3
# hostile-client.py: a /client that misbehaves, for subscribe-url-hostile (python3-websockets
# 10, legacy API). usage: hostile-client.py PORTFILE; the path picks the case:
#   /status/N   refuse the upgrade with HTTP N
#   /odd        list, a binary message, a line, a 9 MiB line, a line, callpipe.end
#   /drop       list, a line, then close without callpipe.end
#   /nolist     a Deepgram-like line first (no calls list), then callpipe.end
#   /slowlist   nothing for 30 s (the client gives up on a signal)
import asyncio, http, sys
import websockets

LIST = '{"type":"calls","calls":[],"ended":[]}'
LINE = '{"type":"Results","n":%d}'
END = '{"type":"callpipe.end","reason":"call-ended"}'

async def refuse(path, headers):
    if path.startswith("/status/"):
        return (http.HTTPStatus(int(path.split("/")[2].split("?")[0])), [], b"no\n")
    return None

async def handler(ws, path):
    p = path.split("?")[0]
    if p == "/odd":
        for m in (LIST, b"\x00\x01binary", LINE % 1, "x" * (9 << 20), LINE % 2, END):
            await ws.send(m)
    elif p == "/drop":
        await ws.send(LIST)
        await ws.send(LINE % 1)
        return
    elif p == "/nolist":
        await ws.send(LINE % 1)
        await ws.send(END)
    elif p == "/slowlist":
        await asyncio.sleep(30)
    try:
        await asyncio.wait_for(ws.wait_closed(), 10)
    except asyncio.TimeoutError:
        pass

async def main():
    srv = await websockets.serve(handler, "127.0.0.1", 0, process_request=refuse,
                                 max_size=None, compression=None, ping_interval=None)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % srv.sockets[0].getsockname()[1])
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    await asyncio.sleep(300)

asyncio.run(main())
