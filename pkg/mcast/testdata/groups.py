#!/usr/bin/env python3
"""Independent derivation of lcsync v1 channel group addresses (PROTOCOL.md section 3).

Writes groups.txt, which pkg/mcast's tests compare against Group and its helpers. It shares no
code with the Go package: it follows PROTOCOL.md with hashlib.blake2s and the ipaddress module.
Run: python3 groups.py > groups.txt
"""
import hashlib
import ipaddress

SCOPES = [("link", 0x2), ("site", 0x5), ("org", 0x8), ("global", 0xE)]
KINDS = {"manifest": 1, "tree": 2, "data": 3, "stream": 4, "congestion": 5, "parity": 6, "object": 7}


def group(scope, kind, key):
    g = hashlib.blake2s(b"lcsync/v1/channel" + bytes([kind]) + key).digest()
    return ipaddress.IPv6Address(bytes([0xFF, 0x10 | scope]) + g[:14])


def main():
    print("# lcsync v1 channel group vectors, written by groups.py; see group_test.go.")
    print("# scope kind key-hex address")
    shares = [b"share", b"f.iso"]
    nodes = [bytes(32), bytes(range(32))]
    for sname, scope in SCOPES:
        for share in shares:
            for kname in ("manifest", "stream", "congestion"):
                print(sname, kname, share.hex(), group(scope, KINDS[kname], share))
        for node in nodes:
            print(sname, "data", node.hex(), group(scope, KINDS["data"], node))
            # Tree objects (directories) are keyed by their id.
            print(sname, "object", node.hex(), group(scope, KINDS["object"], node))
            # Tree channels are keyed by the node's level and hash (a promoted node shares
            # its child's hash).
            for level in (0, 4, 17):
                key = bytes([level]) + node
                print(sname, "tree", key.hex(), group(scope, KINDS["tree"], key))
            # Parity channels are keyed by the data channel's address and a layer.
            data = group(scope, KINDS["data"], node).packed
            for layer in (0, 7):
                key = data + bytes([layer])
                print(sname, "parity", key.hex(), group(scope, KINDS["parity"], key))


if __name__ == "__main__":
    main()
