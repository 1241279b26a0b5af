#!/usr/bin/env python3
"""iostat.py CMD...: run CMD and print one line of figures about it to stderr:
wall seconds, bytes read and written through syscalls (rchar/wchar of /proc/PID/io, children
included once reaped), CPU seconds (user+system, children included) and the exit code.
The child is inspected after it exits but before it is reaped (waitid WNOWAIT)."""
import os
import sys
import time

pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
t0 = time.monotonic()
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
wall = time.monotonic() - t0
with open(f"/proc/{pid}/io") as f:
    io = dict(line.split(": ") for line in f.read().splitlines() if line)
_, status, ru = os.wait4(pid, 0)
print(f"wall={wall:.3f} read={int(io['rchar'])} written={int(io['wchar'])} "
      f"cpu={ru.ru_utime + ru.ru_stime:.2f} rc={os.waitstatus_to_exitcode(status)}", file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
