#!/usr/bin/env python3
"""Add up a `make check` log: every cmocka program ("[  PASSED  ] N test(s)",
FAILED, SKIPPED), every shell suite ("N passed, N failed[, N skipped]"),
every fuzz target ("fuzz NAME: ... no crash" / "fuzz NAME: FAILED"), and
each "SUITE FAILED" line (a suite that failed with no failing check
counted) and each "STAGE FAILED" line of a stage ("== make X") that
counted no failure of its own (a build error). Prints "P passed, F failed,
S skipped"; exits 1 when anything failed.

usage: tally.py LOG
"""
import re
import sys

CMOCKA = re.compile(r"\[  (PASSED|FAILED|SKIPPED) +\] (\d+) test\(s\)")
SHELL = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$")
FUZZ_OK = re.compile(r"^fuzz \S+: .*no crash$")
FUZZ_BAD = re.compile(r"^fuzz \S+: FAILED")
SUITE_BROKE = re.compile(r"^SUITE FAILED - ")
STAGE = re.compile(r"^== make ")
STAGE_BROKE = re.compile(r"^STAGE FAILED - ")


def main():
    passed = failed = skipped = 0
    stage_failed = 0  # the failed count when the stage began
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if STAGE.match(line):
                stage_failed = failed
            if STAGE_BROKE.match(line) and failed == stage_failed:
                failed += 1
            for kind, n in CMOCKA.findall(line):
                n = int(n)
                if kind == "PASSED":
                    passed += n
                elif kind == "FAILED":
                    failed += n
                else:
                    skipped += n
            m = SHELL.match(line)
            if m:
                passed += int(m.group(1))
                failed += int(m.group(2))
                skipped += int(m.group(3) or 0)
            if FUZZ_OK.match(line):
                passed += 1
            if FUZZ_BAD.match(line) or SUITE_BROKE.match(line):
                failed += 1
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
