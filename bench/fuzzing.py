"""Shared harness of the ``bench/fuzz_*.py`` scripts: seeded mutation, counting, a result file.

A fuzz target is a function that takes one generated input and returns a short outcome label
(``"ok"``, ``"refused"``, a message kind …).  The harness counts labels; any exception the target
did not expect is a crash, counted with its first examples.  Inputs come from seeds mutated the
usual ways (bit flips, inserted/deleted/repeated bytes, splices, deep nesting, long runs).  Pure
Python and seeded: every run is reproducible with ``--seed``.  Importing this does nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
_INTERESTING = [
    b"\x00", b"\xff", b"\x80", b"\xc0\x80", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\r\n", b"\n",
    b"{", b"}", b"[", b"]", b'"', b"\\", b"\\u0000", b"%00", b"..", b"/", b";", b"|", b"$(",
    b"`", b"\xe2\x80\xae", b"\xef\xbc\x8d", b"1e309", b"-0", b"NaN", b"null", b"true",
]  # fmt: skip


class Mutator:
    """Random inputs near the seeds."""

    def __init__(self, seeds: Sequence[bytes], rng: random.Random) -> None:
        self.seeds = list(seeds)
        self.rng = rng

    def bytes(self) -> bytes:
        """One input: a seed with 1–4 mutations (sometimes a wholly random one)."""
        rng = self.rng
        if rng.random() < 0.02:
            return rng.randbytes(rng.randrange(0, 64))
        data = bytearray(rng.choice(self.seeds))
        for _ in range(rng.randrange(1, 5)):
            self._mutate(data)
        return bytes(data[:200_000])

    def text(self) -> str:
        """One input as text (invalid UTF-8 replaced)."""
        return self.bytes().decode("utf-8", errors="replace")

    def _mutate(self, data: bytearray) -> None:
        rng = self.rng
        at = rng.randrange(0, len(data) + 1)
        match rng.randrange(9):
            case 0 if data:
                data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
            case 1:
                data[at:at] = rng.randbytes(rng.randrange(1, 8))
            case 2 if data:
                del data[at : at + rng.randrange(1, 8)]
            case 3:
                data[at:at] = rng.choice(_INTERESTING)
            case 4:
                other = rng.choice(self.seeds)
                cut = rng.randrange(0, len(other) + 1)
                data[at:] = other[cut:]
            case 5 if data:
                piece = data[at : at + rng.randrange(1, 16)]
                data[at:at] = piece * rng.randrange(2, 200)
            case 6:
                depth = rng.choice((10, 1000, 100_000))
                data[at:at] = rng.choice((b"[", b'{"a":')) * depth
            case 7:
                data[at:at] = bytes([rng.randrange(256)]) * rng.choice((100, 5000, 70_000))
            case _:
                data[at:at] = str(rng.choice((0, -1, 2**31, 2**63, 10**400))).encode()


def main(
    name: str,
    target: Callable[[Mutator], str],
    seeds: Sequence[bytes],
    argv: Sequence[str] | None = None,
) -> int:
    """Run ``target`` on ``--inputs`` generated inputs; print a table; write the result file."""
    parser = argparse.ArgumentParser(description=f"fuzz {name}")
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    mutator = Mutator(seeds, random.Random(args.seed))
    labels: Counter[str] = Counter()
    crashes: list[str] = []
    began = time.perf_counter()
    for _ in range(args.inputs):
        state = mutator.rng.getstate()
        try:
            labels[target(mutator)] += 1
        except Exception as exc:  # the point of fuzzing: anything unexpected is a finding
            labels["CRASH"] += 1
            if len(crashes) < 5:
                mutator.rng.setstate(state)
                crashes.append(f"{type(exc).__name__}: {exc!s:.200} on {mutator.bytes()[:120]!r}")
    seconds = time.perf_counter() - began
    result = {
        "target": name,
        "inputs": args.inputs,
        "seed": args.seed,
        "seconds": round(seconds, 1),
        "inputs_per_second": round(args.inputs / seconds),
        "crashes": labels["CRASH"],
        "crash_examples": crashes,
        "outcomes": dict(labels.most_common()),
    }
    print(f"fuzz {name}: {args.inputs} inputs in {seconds:.1f} s, {labels['CRASH']} crashes")
    for label, count in labels.most_common():
        print(f"  {label:<32} {count:>9}")
    for crash in crashes:
        print("  crash:", crash)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"fuzz_{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 1 if labels["CRASH"] else 0
