#!/usr/bin/env python3
"""report.py RESULTS SECTION: print the markdown table of one benchmark section.

RESULTS is the tab-separated file scripts/bench.sh appends one line per run to:
section, N, tool, setting, round, wall s, sender CPU s, sender tx bytes, payload bytes,
receivers verified, note, link rate in bit/s (shaped scenario only, else empty).

Rounds of the same tool, setting and N are folded into one row: the median wall, CPU and tx
of the verified rounds (of all rounds when none verified), and the spread of their wall
times (min-max); the note is that of the median round, plus any exit status of another.
For each N and tool the best setting among the fully verified ones is marked "best"
(highest MB/s; in the delta section fewest bytes on the sender's link), the others "grid".
The lcsync/peer column compares the best lcsync row with each peer row: MB/s ratio (above 1:
lcsync is faster), or in the delta section the bytes ratio (below 1: lcsync sends less).
"""
import csv
import statistics
import sys

TOOLS = ["lcsync", "uftp", "udpcast", "rsync"]


def load(path, section):
    runs = {}
    with open(path, newline="") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) < 12 or row[0] != section:
                continue
            _, n, tool, setting, rnd, wall, cpu, tx, size, ok, note, ideal = row[:12]
            key = (int(n), tool, setting)
            runs.setdefault(key, []).append(dict(
                round=int(rnd), wall=float(wall), cpu=float(cpu), tx=int(tx), size=int(size),
                ok=int(ok), note=note, rate=float(ideal) if ideal else 0.0))
    return runs


def fold_notes(use, rs):
    """The note of the median round (by wall time) of use, then any other round's note that
    reports an exit status, so that a row of several rounds says one thing once."""
    mid = sorted(use, key=lambda r: r["wall"])[(len(use) - 1) // 2]
    notes = [mid["note"]] if mid["note"] else []
    for r in sorted(rs, key=lambda r: r["round"]):
        if r is not mid and "exit" in r["note"] and r["note"] not in notes:
            notes.append("round %d: %s" % (r["round"], r["note"]))
    return notes


def fold(n, rs):
    good = [r for r in rs if r["ok"] == n and r["wall"] > 0]
    use = good or rs
    row = dict(
        wall=statistics.median(r["wall"] for r in use),
        cpu=statistics.median(r["cpu"] for r in use),
        tx=statistics.median(r["tx"] for r in use),
        size=use[0]["size"], rate=use[0]["rate"],
        ok=sum(r["ok"] for r in rs), of=n * len(rs), verified=len(good) == len(rs),
        notes=fold_notes(use, rs),
        walls=[r["wall"] for r in sorted(rs, key=lambda r: r["round"])],
        spread=(min(r["wall"] for r in use), max(r["wall"] for r in use)), rounds=len(use))
    row["mbs"] = row["size"] / row["wall"] / 1e6 if row["wall"] > 0 else 0.0
    return row


def main():
    path, section = sys.argv[1], sys.argv[2]
    delta = section.startswith("delta")
    runs = load(path, section)
    if not runs:
        print("(no runs)")
        return
    rows = {k: fold(k[0], v) for k, v in runs.items()}
    shaped = any(r["rate"] for r in rows.values())

    def better(r):  # sort key: smaller is better
        return (r["tx"], r["wall"]) if delta else (r["wall"],)

    head = ["tool (setting)", "N", "wall s", "wall min–max", "MB/s per receiver", "sender CPU s",
            "sender tx / size", "verified", "lcsync/peer", "pick"]
    if delta:
        head.insert(7, "sender tx MB")
    if shaped:
        head.insert(5, "wall/ideal")
    head.append("note")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    tools = sorted({k[1] for k in rows}, key=lambda t: (TOOLS.index(t) if t in TOOLS else 99, t))
    for n in sorted({k[0] for k in rows}):
        best = {}
        for t in tools:
            cands = [r for k, r in rows.items() if k[0] == n and k[1] == t and r["verified"]]
            if cands:
                best[t] = min(cands, key=better)
        lc = best.get("lcsync")
        for t in tools:
            mine = [(k[2], r) for k, r in rows.items() if k[0] == n and k[1] == t]
            mine.sort(key=lambda kr: (kr[1] is not best.get(t), better(kr[1]) if kr[1]["verified"] else (float("inf"),)))
            for setting, r in mine:
                is_best = r is best.get(t)
                if t == "lcsync" or not r["verified"]:
                    ratio = "—"
                elif not lc:
                    ratio = "lcsync failed" if any(k[0] == n and k[1] == "lcsync" for k in rows) else "—"
                elif delta:
                    ratio = "%.3f" % (lc["tx"] / r["tx"]) if r["tx"] else "—"
                else:
                    ratio = "%.2f" % (lc["mbs"] / r["mbs"]) if r["mbs"] else "—"
                name = "%s (%s)" % (t, setting)
                spread = ("%.2f–%.2f" % r["spread"]) if r["rounds"] > 1 else "—"
                cells = [("**%s**" % name) if is_best else name, str(n), "%.2f" % r["wall"], spread,
                         "%.1f" % r["mbs"], "%.2f" % r["cpu"], "%.3f" % (r["tx"] / r["size"]),
                         "%d/%d" % (r["ok"], r["of"]) + ("" if r["verified"] else " FAILED"),
                         ratio, "best" if is_best else "grid"]
                if delta:
                    cells.insert(7, "%.1f" % (r["tx"] / 1e6))
                if shaped:
                    ideal = r["size"] * 8 / r["rate"] if r["rate"] else 0
                    cells.insert(5, "%.2f" % (r["wall"] / ideal) if ideal else "—")
                notes = list(r["notes"])
                if len(r["walls"]) > 1:
                    notes.insert(0, "rounds " + ", ".join("%.2f" % w for w in r["walls"]) +
                                 (" (note of the median round)" if notes else ""))
                cells.append("; ".join(notes))
                print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
