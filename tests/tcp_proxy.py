"""A TCP proxy in front of Postgres that misbehaves on cue: it drops a connection right after forwarding a COMMIT,
swallows one, or goes silent (no data either way, no reset) once a given statement has passed."""

from __future__ import annotations

import socket
import threading
import time

from psycopg.conninfo import conninfo_to_dict, make_conninfo


class FaultyProxy:
    """Forwards 127.0.0.1:<port> to the Postgres of `target_url`.

    - `arm_after`: bytes that, once seen from the client, arm the fault for that connection;
    - `fault`: "drop_after_commit" (forward the next COMMIT, then close both ends before the answer comes back),
      "swallow_commit" (close both ends instead of forwarding the next COMMIT), or "silence" (from the armed
      moment on, forward nothing either way and keep both sockets open).
    """

    def __init__(self, target_url: str, fault: str, arm_after: bytes) -> None:
        # Any form psycopg takes (a URL, key=value, a socket directory in ?host=, as the embedded server's URI
        # has); the proxy's URL is the same with its own host and port, which win over every other.
        params = conninfo_to_dict(target_url)
        host, port = params.get("host") or "127.0.0.1", int(params.get("port") or 5432)
        self.target = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)
        self.fault, self.arm_after = fault, arm_after
        self.fired = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = make_conninfo(target_url, host="127.0.0.1", port=str(self.port))
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_all()
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def close_all(self) -> None:
        """Close every proxied connection, as a network that finally resets would."""
        for sock in list(self._sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            if isinstance(self.target, str):  # a Unix socket
                server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                server.connect(self.target)
            else:
                server = socket.create_connection(self.target)
            self._sockets += [client, server]
            state = {"armed": False, "silent": False}
            threading.Thread(target=self._pump, args=(client, server, state, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, state, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, state: dict, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if state["silent"]:
                    continue  # swallowed: the peer sees neither data nor a reset
                if from_client and not state["armed"] and self.arm_after in data:
                    state["armed"] = True
                    if self.fault == "silence":
                        state["silent"] = True
                        self.fired.set()
                        continue
                elif from_client and state["armed"] and b"COMMIT" in data:
                    self.fired.set()
                    if self.fault == "swallow_commit":
                        self._close(source, sink)
                        return
                    state["silent"] = True  # the server's answer to it is dropped
                    sink.sendall(data)
                    time.sleep(0.3)  # the server commits; its answer never gets back
                    self._close(source, sink)
                    return
                sink.sendall(data)
        except OSError:
            pass

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
