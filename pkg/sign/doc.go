// Package sign implements signed shares: the publisher's keys, the statement that vouches for
// each manifest generation, the rules a receiver applies before it accepts a manifest, and the
// state that keeps those rules across restarts (PROTOCOL.md §4.7 and §7).
//
// One signature per generation authenticates every byte of a share: the statement names the
// manifest id, the manifest names every file's top hash, and every tree page and block is
// verified against those (PROTOCOL.md §1). No per-packet cryptography and no back channel.
//
// Keys are minisign's (https://jedisct1.github.io/minisign/): Ed25519 (RFC 8032), a random
// 8-byte key id, public keys as an "untrusted comment:" line and base64("Ed" || key id || key),
// secret keys unencrypted ("minisign -G -W") or scrypt-encrypted (RFC 7914). Key files are read
// and written with aead.dev/minisign; statements are signed and verified with Ed25519 over
// [wire.StatementDomain] and the statement's fields, never over bytes anyone else chooses.
//
// The receiver's rules follow TUF's lessons on rollback, freeze and mix-and-match attacks: a
// statement counts only if a trusted key signed it, it has not expired, it was not issued in the
// future beyond the allowed clock skew, it names the manifest's share and generation, and its
// generation is not below the highest this receiver accepted for the same key and share; that
// high-water mark is persisted (write, fsync, rename) only after both the statement and the
// manifest verified. Publishers keep their generations monotonic across restarts and clock steps
// the same way.
package sign
