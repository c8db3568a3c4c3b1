import hashlib, hmac, json, sys

def verify(key, paths, prev="0" * 64, seq=0):
    """Check the files of one chain, in order; return the last (seq, mac)."""
    for path in paths:
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                where = f"{path}:{n}"
                assert line.endswith(b"\n"), f"{where}: torn line"
                body, sep, tail = line[:-1].rpartition(b',"mac":"')
                mac = tail[:64].decode("ascii")
                assert sep and tail[64:] == b'"}', f"{where}: no mac"
                s = body + b"}"  # the record as it was before the mac was added
                good = hmac.new(key, s, hashlib.sha256).hexdigest()
                assert hmac.compare_digest(mac, good), f"{where}: edited (bad mac)"
                rec = json.loads(s)
                assert rec["seq"] == seq + 1, f"{where}: seq {rec['seq']} after {seq}"
                assert rec["prev"] == prev, f"{where}: does not chain to the previous record"
                seq, prev = rec["seq"], mac
    return seq, prev

if __name__ == "__main__":
    key = open(sys.argv[1], "rb").read()
    print(*verify(key, sorted(sys.argv[2:])))
