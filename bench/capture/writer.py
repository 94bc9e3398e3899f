"""A child that writes N lines to stdout as fast as it can and records how long that took.

Usage: python bench/capture/writer.py N RESULT_FILE
The elapsed seconds (from the first write to the final flush) are written to RESULT_FILE.
"""

import sys
import time


def main() -> None:
    count, result_file = int(sys.argv[1]), sys.argv[2]
    write = sys.stdout.write
    started = time.perf_counter()
    for i in range(count):
        write(f"INFO line {i} of the fast writer, some payload to make it a realistic length\n")
    sys.stdout.flush()
    elapsed = time.perf_counter() - started
    with open(result_file, "w") as out:
        out.write(f"{elapsed:.6f}\n")


if __name__ == "__main__":
    main()
