#!/usr/bin/env python3
"""live.py: the writer, the replica probe and the report of scripts/bench/live.sh.

  live.py seed WORK --files F --big-mib B --untar U
      make WORK/seed (the share: F files of 1-16 KiB in directories of 100 under tree/, a
      B MiB big.bin and a 4 KiB hot.bin) and WORK/untar.tar (U files of 1-8 KiB under
      untar/), with WORK/untar.json listing the tar's files and their sha256.
  live.py initial SRC TIMEOUT [--since T] REPLICA...
      wait until every replica holds SRC's files (sizes and sha256; for files over 1 MiB,
      sha256 of three 64 KiB samples); print the seconds each took since T (default: now).
  live.py run WORKLOAD --src SRC --work WORK --link NS --tool T --n N --out TSV
              [--rewrites R] [--idle S] [--timeout S] [--pids P,...] [--follower-pids P,...]
              REPLICA...
      run one workload (rewrite, block, untar, renamefile, renamedir, delete, storm, log,
      idle, shrink) against
      SRC and append its row to TSV: the time from the change (t0, taken by this process
      just before or, for untar, just after the writing) until each replica holds the
      result (t1, polled every 5 ms by this same process: one clock), and the bytes both ways
      on NS's eth0 (the server's link) from t0 until 1 s after the last replica was done.
  live.py report TSV
      print the markdown table.
"""
import argparse
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import time

POLL = 0.005
SAMPLE = 64 << 10


# --- checks: (rel, kind, arg) evaluated against a replica root --------------------------------

def sha(b):
    return hashlib.sha256(b).hexdigest()


def file_sig(path):
    """sha256 of a file, or of three samples and its size for files over 1 MiB."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if size <= 1 << 20:
            return "full:" + sha(f.read())
        h = hashlib.sha256()
        for off in (0, size // 2, max(0, size - SAMPLE)):
            f.seek(off)
            h.update(f.read(SAMPLE))
        return "sampled:%d:%s" % (size, h.hexdigest())


def holds(root, check):
    rel, kind, arg = check
    p = os.path.join(root, rel)
    try:
        if kind == "absent":
            return not os.path.lexists(p)
        if kind == "sig":
            return file_sig(p) == arg
        if kind == "range":  # arg: (offset, sha256 of the bytes, length, size)
            off, want, n, size = arg
            if os.path.getsize(p) != size:
                return False
            with open(p, "rb") as f:
                f.seek(off)
                return sha(f.read(n)) == want
    except OSError:
        return False
    raise ValueError(kind)


def wait_all(replicas, checks, deadline):
    """Poll until every replica satisfies every check; per replica the time it first did
    (None if not by the deadline). Checks that held once are not asked again."""
    left = {r: list(checks) for r in replicas}
    done = {}
    while left and time.time() < deadline:
        for r in list(left):
            left[r] = [c for c in left[r] if not holds(r, c)]
            if not left[r]:
                done[r] = time.time()
                del left[r]
        if left:
            time.sleep(POLL)
    return [done.get(r) for r in replicas]


def tree_checks(src, rel=""):
    out = []
    base = os.path.join(src, rel)
    for dirpath, _, files in os.walk(base):
        for f in files:
            p = os.path.join(dirpath, f)
            out.append((os.path.relpath(p, src), "sig", file_sig(p)))
    return out


# --- link bytes and CPU ------------------------------------------------------------------------

def link_bytes(ns):
    out = subprocess.run(["ip", "-n", ns, "-s", "-j", "link", "show", "dev", "eth0"],
                         capture_output=True, text=True, check=True).stdout
    st = json.loads(out)[0]["stats64"]
    return st["rx"]["bytes"] + st["tx"]["bytes"]


def tree_cpu(pids):
    """user+system seconds of the processes and all their descendants (live ones)."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(d))
            except OSError:
                pass
    hz = os.sysconf("SC_CLK_TCK")
    total, todo, seen = 0.0, list(pids), set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / hz
        except OSError:
            pass
        todo.extend(children.get(p, []))
    return total


# --- seed --------------------------------------------------------------------------------------

def seed(a):
    rnd = random.Random(16)
    src = os.path.join(a.work, "seed")
    for i in range(a.files):
        d = os.path.join(src, "tree", "d%03d" % (i // 100))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%05d" % i), "wb") as f:
            f.write(rnd.randbytes(rnd.randint(1024, 16384)))
    with open(os.path.join(src, "big.bin"), "wb") as f:
        for _ in range(a.big_mib):
            f.write(os.urandom(1 << 20))
    with open(os.path.join(src, "hot.bin"), "wb") as f:
        f.write(os.urandom(4096))
    files = {}
    with tarfile.open(os.path.join(a.work, "untar.tar"), "w") as tar:
        for i in range(a.untar):
            data = rnd.randbytes(rnd.randint(1024, 8192))
            name = "untar/d%02d/u%04d" % (i // 100, i)
            files[name] = "full:" + sha(data)
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, int(time.time())
            tar.addfile(ti, io.BytesIO(data))
    with open(os.path.join(a.work, "untar.json"), "w") as f:
        json.dump(files, f)


def initial(a):
    checks = tree_checks(a.src)
    t0 = a.since or time.time()
    done = wait_all(a.replicas, checks, time.time() + a.timeout)
    print(" ".join("%.2f" % (d - t0) if d else "timeout" for d in done))
    return 0 if all(done) else 1


# --- workloads ---------------------------------------------------------------------------------

def measure(a, change, checks_of, settle=1.0):
    """Run change() (which returns t0), wait for the replicas, and return (latencies or
    None per replica, link bytes)."""
    b0 = link_bytes(a.link)
    t0 = change()
    checks = checks_of()
    done = wait_all(a.replicas, checks, t0 + a.timeout)
    time.sleep(settle)
    return [d - t0 if d else None for d in done], link_bytes(a.link) - b0


def run(a):
    src = a.src
    note = ""
    lat, nbytes, expected = [], 0, len(a.replicas)
    if a.workload == "rewrite":
        hot = os.path.join(src, "hot.bin")
        b0 = link_bytes(a.link)
        slot = time.time()
        for _ in range(a.rewrites):
            slot = max(slot + 2.0, time.time())
            time.sleep(max(0, slot - time.time()))
            data = os.urandom(4096)
            t0 = time.time()
            with open(hot, "wb") as f:
                f.write(data)
            done = wait_all(a.replicas, [("hot.bin", "sig", "full:" + sha(data))], t0 + a.timeout)
            lat += [d - t0 if d else None for d in done]
        time.sleep(1.0)
        nbytes = (link_bytes(a.link) - b0) // a.rewrites
        expected = a.rewrites * len(a.replicas)
        note = "%d rewrites 2 s apart; bytes per rewrite" % a.rewrites
    elif a.workload == "block":
        big = os.path.join(src, "big.bin")
        size = os.path.getsize(big)
        off = (size // 2) & ~(SAMPLE - 1)
        data = os.urandom(4096)

        def change():
            t0 = time.time()
            fd = os.open(big, os.O_WRONLY)
            os.pwrite(fd, data, off)
            os.close(fd)
            return t0
        lat, nbytes = measure(a, change, lambda: [("big.bin", "range", (off, sha(data), len(data), size))])
        note = "4 KiB written at %d MiB of a %d MiB file" % (off >> 20, size >> 20)
    elif a.workload == "untar":
        with open(os.path.join(a.work, "untar.json")) as f:
            files = json.load(f)
        took = []

        def change():
            t = time.time()
            subprocess.run(["tar", "-xf", os.path.join(a.work, "untar.tar"), "-C", src], check=True)
            took.append(time.time() - t)
            return time.time()
        lat, nbytes = measure(a, change, lambda: [(n, "sig", s) for n, s in files.items()])
        note = "%d files; t0 = tar's exit (it ran %.2f s)" % (len(files), took[0])
    elif a.workload == "renamefile":
        sig = file_sig(os.path.join(src, "big.bin"))

        def change():
            t0 = time.time()
            os.rename(os.path.join(src, "big.bin"), os.path.join(src, "big-renamed.bin"))
            return t0
        lat, nbytes = measure(a, change, lambda: [("big.bin", "absent", None), ("big-renamed.bin", "sig", sig)])
        note = "%d MiB file" % (os.path.getsize(os.path.join(src, "big-renamed.bin")) >> 20)
    elif a.workload == "renamedir":
        with open(os.path.join(a.work, "untar.json")) as f:
            files = json.load(f)

        def change():
            t0 = time.time()
            os.rename(os.path.join(src, "untar"), os.path.join(src, "untar-renamed"))
            return t0
        lat, nbytes = measure(a, change, lambda: [("untar", "absent", None)] + [
            ("untar-renamed" + n[len("untar"):], "sig", s) for n, s in files.items()])
        note = "a directory of %d files" % len(files)
    elif a.workload == "delete":
        n = sum(len(f) for _, _, f in os.walk(os.path.join(src, "untar-renamed")))

        def change():
            t0 = time.time()
            shutil.rmtree(os.path.join(src, "untar-renamed"))
            return t0
        lat, nbytes = measure(a, change, lambda: [("untar-renamed", "absent", None)])
        note = "%d files" % n
    elif a.workload == "storm":
        base = os.path.join(src, "storm")
        names = ["storm/d%02d/s%05d" % (i // 1000, i) for i in range(a.storm)]

        def change():
            for d in range((a.storm + 999) // 1000):
                os.makedirs(os.path.join(base, "d%02d" % d), exist_ok=True)
            for n in names:
                with open(os.path.join(src, n), "wb") as f:
                    f.write(n.encode())
            return time.time()
        lat, nbytes = measure(a, change, lambda: [(n, "sig", "full:" + sha(n.encode())) for n in names])
        note = "%d files made at once (more events than inotify's default queue); t0 = the last close" % a.storm
    elif a.workload == "log":
        path = os.path.join(src, "app.log")
        content = b""
        torn = 0
        b0 = link_bytes(a.link)
        start = time.time()
        n = 0
        with open(path, "ab") as f:
            while time.time() - start < a.log_secs:
                line = b"%06d %s\n" % (n, b"x" * 90)
                f.write(line)
                f.flush()
                content += line
                n += 1
                tick = time.time() + 0.1
                while time.time() < tick:  # look at the replicas while the log grows
                    for r in a.replicas:
                        try:
                            with open(os.path.join(r, "app.log"), "rb") as g:
                                got = g.read()
                        except OSError:
                            continue
                        if not content.startswith(got) or (got and not got.endswith(b"\n")):
                            torn += 1
                    time.sleep(0.02)
        t0 = time.time()
        done = wait_all(a.replicas, [("app.log", "sig", "full:" + sha(content))], t0 + a.timeout)
        time.sleep(1.0)
        lat = [d - t0 if d else None for d in done]
        nbytes = link_bytes(a.link) - b0
        note = "%d lines appended 100 ms apart over %d s; latency from the last; torn replicas seen: %d" % (
            n, a.log_secs, torn)
    elif a.workload == "shrink":
        tree = []
        for dirpath, dirs, files in os.walk(src):
            dirs[:] = [d for d in dirs if d != ".stfolder"]
            tree += [os.path.relpath(os.path.join(dirpath, f), src) for f in files]
        tree.sort()
        gone = tree[: len(tree) * 6 // 10]
        b0 = link_bytes(a.link)
        t0 = time.time()
        for rel in gone:
            os.remove(os.path.join(src, rel))
        done = wait_all(a.replicas, [(rel, "absent", None) for rel in gone], t0 + a.shrink_wait)
        lat = [d - t0 if d else None for d in done]
        nbytes = link_bytes(a.link) - b0
        held = sum(1 for d in done if d is None)
        note = "%d of the share's %d files deleted (60%%): %d of %d followers still hold them after %d s%s" % (
            len(gone), len(tree), held, len(a.replicas), a.shrink_wait, "")
    elif a.workload == "idle":
        pids = [int(p) for p in a.pids.split(",") if p]
        fpids = [int(p) for p in a.follower_pids.split(",") if p]
        b0, c0 = link_bytes(a.link), tree_cpu(pids)
        f0 = [tree_cpu([p]) for p in fpids]
        t0 = time.time()
        time.sleep(a.idle)
        secs = time.time() - t0
        nbytes = link_bytes(a.link) - b0
        server = 100 * (tree_cpu(pids) - c0) / secs
        fol = [100 * (tree_cpu([p]) - c) / secs for p, c in zip(fpids, f0)]
        note = "%d s: server %.2f%% of a core, followers %.2f%% each (mean), max %.2f%%" % (
            a.idle, server, sum(fol) / len(fol) if fol else 0, max(fol) if fol else 0)
        expected = 0
    else:
        print("live.py: unknown workload %s" % a.workload, file=sys.stderr)
        return 2
    good = sorted(x for x in lat if x is not None)
    row = [a.tool, str(a.n), a.workload, str(len(good)), str(expected)]
    row += ["%.1f" % (1000 * pct(good, p)) if good else "" for p in (50, 99, 100)]
    row += [str(nbytes), note]
    with open(a.out, "a") as f:
        f.write("\t".join(row) + "\n")
    print("  %-9s N=%-2d %-10s %s/%s done  p50 %s ms  p99 %s ms  max %s ms  %s bytes  %s" % tuple(
        [a.tool, a.n, a.workload] + row[3:]), file=sys.stderr)
    return 0


def pct(xs, p):
    """nearest-rank percentile of sorted xs."""
    k = max(0, min(len(xs) - 1, -(-p * len(xs) // 100) - 1))
    return xs[int(k)]


# --- report ------------------------------------------------------------------------------------

ORDER = ["rewrite", "block", "untar", "renamefile", "renamedir", "delete", "storm", "log", "idle", "shrink"]
TITLES = {"rewrite": "rewrite a 4 KiB file every 2 s", "block": "change one block of the big file",
          "untar": "untar many files", "renamefile": "rename the big file",
          "renamedir": "rename a directory", "delete": "delete a directory of files",
          "storm": "storm of new files (inotify overflow)", "log": "append to a log every 100 ms",
          "idle": "idle", "shrink": "delete 60% of the tree"}
TOOLS = ["lcsync", "lsyncd", "syncthing"]


def human(n):
    n = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return ("%.0f %s" if unit == "B" else "%.1f %s") % (n, unit)
        n /= 1000


def report(a):
    rows = []
    with open(a.tsv) as f:
        for line in f:
            r = line.rstrip("\n").split("\t")
            if len(r) >= 10:
                rows.append(r)
    if not rows:
        print("(no runs)")
        return 0
    print("| workload | N | tool | done | p50 ms | p99 ms | max ms | server link bytes | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows.sort(key=lambda r: (ORDER.index(r[2]) if r[2] in ORDER else 99, int(r[1]),
                             TOOLS.index(r[0]) if r[0] in TOOLS else 99))
    for tool, n, wl, good, exp, p50, p99, mx, nbytes, note in rows:
        if exp == "0":
            done = "—"
        elif wl == "shrink":
            done = "%s/%s applied" % (good, exp)  # a guard holding it is the wanted outcome
        else:
            done = "%s/%s" % (good, exp) + ("" if good == exp else " MISSED")
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            TITLES.get(wl, wl), n, tool, done, p50 or "—", p99 or "—", mx or "—", human(int(nbytes)), note))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("work")
    s.add_argument("--files", type=int, default=10000)
    s.add_argument("--big-mib", type=int, default=512)
    s.add_argument("--untar", type=int, default=1000)
    s = sub.add_parser("initial")
    s.add_argument("src")
    s.add_argument("timeout", type=float)
    s.add_argument("--since", type=float, default=0, help="count from this time (the tool's start)")
    s.add_argument("replicas", nargs="+")
    s = sub.add_parser("run")
    s.add_argument("workload")
    for opt in ("--src", "--work", "--link", "--tool", "--out"):
        s.add_argument(opt, required=True)
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--rewrites", type=int, default=100)
    s.add_argument("--idle", type=int, default=60)
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("--storm", type=int, default=20000)
    s.add_argument("--log-secs", type=int, default=60)
    s.add_argument("--shrink-wait", type=int, default=10)
    s.add_argument("--pids", default="")
    s.add_argument("--follower-pids", default="")
    s.add_argument("replicas", nargs="+")
    s = sub.add_parser("report")
    s.add_argument("tsv")
    a = ap.parse_args()
    return {"seed": seed, "initial": initial, "run": run, "report": report}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
