"""A TCP relay between the code under test and a real server, which cuts connections on cue.

It sees only bytes (the traffic is TLS), so cues are counts: the bytes sent towards the server, which a photo write
makes jump by the photo's size, and the connections opened. A cue's action runs in the relay before the bytes that
crossed the threshold (or the new connection) go on, so an action that cuts every connection cuts the request that
was on its way.
"""

from __future__ import annotations

import socket
import struct
import threading


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sent_upstream = 0
        self.received_downstream = 0  # bytes from the server towards the code under test
        self.connections = 0
        self._byte_cues: list = []  # [threshold, action], in the order given
        self._connection_cues: dict = {}  # connection number -> action
        self._sockets: list = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def when_sent_upstream(self, threshold: int, action) -> None:
        """Run action() once, before the bytes that take the total sent towards the server past threshold."""
        self._byte_cues.append([threshold, action])

    def when_connection(self, number: int, action) -> None:
        """Run action() before the number-th connection (counting from 1) is relayed."""
        self._connection_cues[number] = action

    def cut_all(self) -> None:
        """Reset every open connection (RST to both ends), as a restarting server or a firewall would."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
        self.cut_all()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            action = self._connection_cues.pop(self.connections, None)
            if action is not None:
                action()
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()  # the server is away: the client sees its connection closed
                continue
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if upstream:
                    self._count(len(data))
                else:
                    with self._lock:
                        self.received_downstream += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _count(self, size: int) -> None:
        with self._lock:
            self.sent_upstream += size
            due = [cue for cue in self._byte_cues if self.sent_upstream > cue[0]]
            for cue in due:
                self._byte_cues.remove(cue)
        for _, action in due:
            action()
