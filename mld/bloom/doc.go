// Package bloom implements the per-interface group state of the lcsync
// sender: a counted bloom filter plus a bloom timer, filled from overheard
// MLD reports (Multicast Listener Discovery, RFC 3810 for MLDv2 and RFC 2710
// for MLDv1). The filter answers "has some listener on this link reported
// group G, and has that report not yet expired?" for any number of groups in
// constant memory, without tracking listeners individually.
//
// # Structure
//
// Each of the m slots has an 8-bit counter and a 32-bit expiry tick. A group
// maps to k slots. Insert increments its counters (saturating at 255) and
// raises its timers to the report's expiry; Refresh raises the timers only;
// Remove decrements the counters (a saturated counter stays at 255: its true
// count is unknown, so only expiry may clear it). A group is present while all
// its counters are non-zero and all its timers are later than now. Sweep
// clears expired slots in bulk with the kernels of package simd (AVX2 on
// amd64). A counted bloom filter never gives a false negative for a group
// that was inserted, not removed and not expired, as long as callers only
// remove what they inserted; it gives false positives at the configured rate.
//
// # Indices
//
// One seeded hash/maphash hash of the 16-byte group address gives two 32-bit
// halves h1, h2; the slots are (h1 + i*h2) mod m for i < k (double hashing,
// A. Kirsch and M. Mitzenmacher, "Less Hashing, Same Performance", 2006). The
// seed is chosen by New, so slot collisions differ between filters and runs.
//
// # Sizing
//
// New sizes the filter from a capacity n and a false-positive rate p:
// m = ceil(-n ln p / ln²2) rounded up to a multiple of 64, and
// k = round(m/n · ln 2) clamped to [1, 16]. The default, 100,000 groups at
// 1 %, gives m = 958,528 slots and k = 7, so 4,792,640 bytes (4.6 MiB: one
// byte of counter and four of timer per slot). The C lcsync this replaces
// used 2^24-slot arrays that a macro precedence bug inflated to 256 MiB per
// interface, and its tick swept all of it every second even with no groups.
// Here an idle filter costs nothing to sweep (Sweep returns at once when
// everything is already clear, and clears with memclr when every expiry has
// passed); a full sweep of the default filter takes about 55 µs with AVX2.
// Measured at capacity, the false-positive rate is 1.00-1.05 % for filters
// sized for 1k, 10k and 100k groups.
//
// # Ticks
//
// Ticks are uint32 values of the owner's monotonic clock (the MLD listener
// uses milliseconds). An entry is live iff its timer > now, so a timer equal to
// now has expired. 2^32 ms is about 49.7 days: the owner calls Rebase well
// before its clock nears 2^32 and subtracts the same base from its clock.
//
// # Concurrency
//
// A Filter is a single-owner data structure and is not safe for concurrent
// use. The MLD listener's goroutine owns it and serialises every call,
// including Sweep; others ask that goroutine (or read a snapshot it
// publishes). A bulk sweep is a read-modify-write of whole vectors and would
// lose concurrent updates.
package bloom
