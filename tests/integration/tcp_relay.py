#!/usr/bin/env python3
"""tests/integration/tcp_relay.py: a loopback TCP relay a test controls.

  tcp_relay.py UPSTREAM_PORT STATE_FILE

Listens on 127.0.0.1 on a free port and forwards every connection to
127.0.0.1:UPSTREAM_PORT. The state file is rewritten after every change as
"port=P accepted=N open=M cuts=K" (written to a temporary name and renamed,
so a reader never sees half a line). Signals:

  SIGUSR1  cut every open connection at once (both sides reset), as a
           failing network or a firewall would; new connections still work
  SIGTERM  close everything and exit

Only loopback is ever used: it listens on 127.0.0.1 and connects to
127.0.0.1."""
import asyncio
import os
import signal
import socket
import struct
import sys


class Relay:
    def __init__(self, upstream_port, state_file):
        self.upstream_port = upstream_port
        self.state_file = state_file
        self.port = 0
        self.accepted = 0
        self.cuts = 0
        self.pairs = set()  # (client writer, upstream writer or None)

    def save(self):
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("port=%d accepted=%d open=%d cuts=%d\n"
                    % (self.port, self.accepted, len(self.pairs), self.cuts))
        os.replace(tmp, self.state_file)

    @staticmethod
    def reset(writer):
        """Closes with RST, not FIN: the peer sees the connection cut."""
        if writer is None:
            return
        sock = writer.get_extra_info("socket")
        try:
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
        except OSError:
            pass
        writer.transport.abort()

    def cut(self):
        self.cuts += 1
        for cw, uw in list(self.pairs):
            self.reset(cw)
            self.reset(uw)
        self.pairs.clear()
        self.save()

    @staticmethod
    async def pump(reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except (ConnectionError, OSError):
                pass

    async def handle(self, creader, cwriter):
        self.accepted += 1
        pair = [cwriter, None]
        self.pairs.add(tuple(pair))
        self.save()
        key = tuple(pair)
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            self.pairs.discard(key)
            self.reset(cwriter)
            self.save()
            return
        self.pairs.discard(key)
        key = (cwriter, uwriter)
        self.pairs.add(key)
        await asyncio.gather(self.pump(creader, uwriter), self.pump(ureader, cwriter))
        self.pairs.discard(key)
        self.save()

    async def main(self):
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.save()
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, self.cut)
        loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
        loop.add_signal_handler(signal.SIGINT, lambda: stop.done() or stop.set_result(None))
        await stop
        server.close()
        self.cut()


def main():
    if len(sys.argv) != 3:
        print("usage: tcp_relay.py UPSTREAM_PORT STATE_FILE", file=sys.stderr)
        sys.exit(2)
    asyncio.run(Relay(int(sys.argv[1]), sys.argv[2]).main())


if __name__ == "__main__":
    main()
