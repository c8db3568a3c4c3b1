"""The long-lived TCP flow of the HA failover test, both ends.

Each direction carries an endless sequence of 16-byte records
(index, index XOR seed), so that a lost, repeated, reordered or altered byte
is detected at the exact offset where it happens.  Both ends send at a fixed
pace while receiving and checking the other direction.

    python3 stream.py server ADDR PORT
        one report line (JSON) per connection when it ends
    python3 stream.py client SRC DST PORT STOP_FILE MAX_SECONDS
        'port N' first, then 'progress RX TX MONOTONIC' lines, then one JSON
        report; sends until STOP_FILE exists (or MAX_SECONDS), then half-closes
        and reads the peer's stream to its end.

Reports: sent, received, bad (offset of the first wrong byte or null), end
('eof', 'reset', 'timeout', 'error N'), and for the client the longest pause
between two receptions (max_gap, gap_start, gap_end; CLOCK_MONOTONIC, which
all namespaces share)."""
import json
import os
import socket
import struct
import sys
import threading
import time

CLIENT_SEED = 0x5EC150C1
SERVER_SEED = 0x5EC150D2
CHUNK = 4096
PERIOD = 0.02          # 200 KiB/s each way: enough to notice a pause, light on a busy host


def pattern(seed, offset, length):
    """Bytes [offset, offset+length) of the stream of seed."""
    first, last = offset // 16, (offset + length + 15) // 16
    raw = b"".join(struct.pack(">QQ", i, i ^ seed) for i in range(first, last))
    start = offset - first * 16
    return raw[start:start + length]


class Checker:
    """Receives and checks one direction."""

    def __init__(self, seed):
        self.seed = seed
        self.received = 0
        self.bad = None
        self.end = None
        self.last = None
        self.max_gap = 0.0
        self.gap = (None, None)

    def run(self, sock):
        while True:
            try:
                d = sock.recv(65536)
            except socket.timeout:
                self.end = "timeout"
                return
            except ConnectionResetError:
                self.end = "reset"
                return
            except OSError as e:
                self.end = f"error {e.errno}"
                return
            now = time.monotonic()
            if not d:
                self.end = "eof"
                return
            if self.last is not None and now - self.last > self.max_gap:
                self.max_gap, self.gap = now - self.last, (self.last, now)
            self.last = now
            if self.bad is None and d != pattern(self.seed, self.received, len(d)):
                want = pattern(self.seed, self.received, len(d))
                self.bad = self.received + next(i for i in range(len(d)) if d[i] != want[i])
            self.received += len(d)


def send_paced(sock, seed, stop, state):
    """Send the stream of seed until stop() says so; then half-close."""
    sent = 0
    try:
        while not stop():
            t0 = time.monotonic()
            sock.sendall(pattern(seed, sent, CHUNK))
            sent += CHUNK
            state["sent"] = sent
            left = PERIOD - (time.monotonic() - t0)
            if left > 0:
                time.sleep(left)
        sock.shutdown(socket.SHUT_WR)
    except ConnectionResetError:
        state["send_end"] = "reset"
    except OSError as e:
        state["send_end"] = f"error {e.errno}"


def serve_one(conn, peer):
    conn.settimeout(120)
    rx = Checker(CLIENT_SEED)
    state = {"sent": 0}
    tx = threading.Thread(target=send_paced, args=(conn, SERVER_SEED, lambda: rx.end is not None, state))
    tx.start()
    rx.run(conn)
    tx.join()
    conn.close()
    print(json.dumps({"peer": peer[0], "port": peer[1], "received": rx.received, "bad": rx.bad,
                      "end": rx.end, "sent": state["sent"], "send_end": state.get("send_end")}), flush=True)


def server(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    print("ready", flush=True)
    while True:
        c, a = s.accept()
        threading.Thread(target=serve_one, args=(c, a), daemon=True).start()


def client(src, dst, port, stop_file, max_seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    try:
        s.connect((dst, port))
    except OSError as e:
        print(json.dumps({"end": f"connect {e}"}), flush=True)
        return 1
    s.settimeout(60)
    print("port", s.getsockname()[1], flush=True)
    t_end = time.monotonic() + max_seconds
    rx = Checker(SERVER_SEED)
    state = {"sent": 0}
    stop = lambda: os.path.exists(stop_file) or time.monotonic() > t_end or rx.end is not None  # noqa: E731
    tx = threading.Thread(target=send_paced, args=(s, CLIENT_SEED, stop, state))
    tx.start()
    rxt = threading.Thread(target=rx.run, args=(s,))
    rxt.start()
    while rxt.is_alive():
        print("progress", rx.received, state["sent"], time.monotonic(), flush=True)
        rxt.join(0.1)
    tx.join()
    s.close()
    print(json.dumps({"received": rx.received, "bad": rx.bad, "end": rx.end, "sent": state["sent"],
                      "send_end": state.get("send_end"), "max_gap": rx.max_gap,
                      "gap_start": rx.gap[0], "gap_end": rx.gap[1]}), flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(client(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6])))
