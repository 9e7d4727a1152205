#!/usr/bin/env python3
"""memscan.py PID NEEDLE: how many times NEEDLE is in the writable memory
of process PID (heap, stacks, anonymous maps), read through /proc/PID/mem;
"unreadable: why" when this process may not read it.
For the trust tests: a secret must not outlive its use in a daemon."""
import re
import sys

pid, needle = sys.argv[1], sys.argv[2].encode()
count = 0
try:
    open("/proc/%s/mem" % pid, "rb", 0).close()
except OSError as e:
    # a process that is not dumpable, read by root without CAP_SYS_PTRACE
    # (a container's root): nothing to scan here
    print("unreadable: %s" % e.strerror)
    sys.exit(0)
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
