#!/usr/bin/env python3
"""memscan.py PID NEEDLE: how many times NEEDLE is in the writable memory
of process PID (heap, stacks, anonymous maps), read through /proc/PID/mem.
For the trust tests: a secret must not outlive its use in a daemon."""
import re
import sys

pid, needle = sys.argv[1], sys.argv[2].encode()
count = 0
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        start, end, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        if "w" not in perms or "r" not in perms:
            continue
        try:
            mem.seek(start)
            count += mem.read(end - start).count(needle)
        except (OSError, ValueError):
            pass
print(count)
