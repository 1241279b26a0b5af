#!/usr/bin/env python3
"""Independent encoder for the lcsync v1 wire formats (PROTOCOL.md §4, §5.1).

Writes vectors.txt, which pkg/wire's tests decode and re-encode. It shares no code with the Go
package: it follows the tables of PROTOCOL.md with struct.pack and hashlib.blake2s.
Run: python3 vectors.py > vectors.txt
"""
import hashlib
import struct

HDR = b"lc" + bytes([1])


def block(label, idx, off, data):
    return HDR + bytes([3]) + label + struct.pack(">II", idx, off) + data


def tree(label, level, index, hashes):
    return HDR + bytes([2]) + label + bytes([level, 0, 0, 0]) + struct.pack(">I", index) + b"".join(hashes)


def manifest_id(blob):
    return hashlib.blake2s(b"lcsync/v1/manifest" + blob).digest()


def chunks(blob, max_datagram):
    per = max_datagram - 44
    mid = manifest_id(blob)
    out = []
    for off in range(0, len(blob), per):
        out.append(HDR + bytes([1]) + mid + struct.pack(">II", len(blob), off) + blob[off:off + per])
    return out


def s16(b):
    return struct.pack(">H", len(b)) + b


def entry(kind, mode, mtime, name, size=None, shift=None, top=None, target=None):
    e = struct.pack(">BIq", kind, mode, mtime) + s16(name)
    if kind == 1:
        e += struct.pack(">QB", size, shift) + top
    elif kind == 3:
        e += s16(target)
    return e


def manifest(carousel, height, share, generation, entries):
    return (b"LCMF" + bytes([1, 1 if carousel else 0, height, 0]) + s16(share)
            + struct.pack(">QI", generation, len(entries)) + b"".join(entries))


def main():
    vec = []
    vec.append(("block", block(bytes(range(1, 9)), 5, 1024, b"hello")))
    vec.append(("tree", tree(bytes(range(0xa0, 0xa8)), 1, 2, [b"\x11" * 32, b"\x22" * 32])))
    mtime = 1700000000123456789
    top = hashlib.blake2s(b"\x00hello").digest()  # one-block file: its leaf is the top
    blob = manifest(False, 4, b"share", 7, [
        entry(2, 0o755, mtime, b"share"),
        entry(1, 0o644, mtime, b"share/a.txt", 5, 14, top),
        entry(1, 0o600, -1, b"share/empty", 0, 10, bytes(32)),
        entry(3, 0o777, mtime, b"share/link", target=b"a.txt"),
        entry(2, 0o1777, 0, b"share/sub"),
        entry(3, 0o777, mtime, b"share/sub.lnk", target=b"sub/x"),
        entry(1, 0o4755, mtime, b"share/sub/x", 0, 20, bytes(32)),
    ])
    vec.append(("manifest", blob))
    vec.append(("manifest-id", manifest_id(blob)))
    for i, c in enumerate(chunks(blob, 100)):
        vec.append(("chunk-100-%d" % i, c))
    single = manifest(True, 1, b"f.iso", 2**64 - 1, [
        entry(1, 0o644, 0, b"f.iso", 1 << 20, 20, b"\xee" * 32),
    ])
    vec.append(("manifest-single", single))
    vec.append(("chunk-1452-0", chunks(single, 1452)[0]))
    print("# lcsync v1 wire test vectors, written by vectors.py; see vectors_test.go.")
    print("# name hex")
    for name, b in vec:
        print(name, b.hex())


main()
