"""Benchmark: `nhacviec import` on real plans, on a huge document, and on a refused one.

Each case runs in its own Python process, so its peak resident memory (ru_maxrss of the
child) is its own:

- each seed plan in tests/import_corpus/: read, extract, write the proposal;
- a text just under the reader's size limit, made of the seed plans repeated (a document
  no real plan reaches: the bound on time and memory for the largest accepted input);
- adversarial paragraphs: one phrase that the rules look for, repeated thousands of times;
- a 50 MB text, which the reader refuses before reading it.

Limits (issue: "huge (50 MB) inputs: a clear error or an empty result, never a crash,
bounded time and memory"): a seed in under 2 s; the largest accepted text at ≥ 0.3 MB/s
and under 1.5 GB; the 50 MB refusal in under 1 s and under 150 MB. The script prints
whether each limit is met and always exits 0: benchmarks never fail the build.

    .venv/bin/python bench/bench_import.py
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import verdict

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "import_corpus"
SEEDS = [
    "thua-thien-hue-2020-ke-hoach-bdg",
    "lam-thao-2024-ke-hoach-bdg",
    "thai-binh-hlhpn-2024-ke-hoach-bdg",
]

CHILD = """
import json, resource, sys, time
from datetime import date
from pathlib import Path
from scheduler.cli.importing import ImportFailed, import_document
start = time.perf_counter()
try:
    found, text = import_document(Path(sys.argv[1]), None, None, False, date(2026, 11, 24))
    result = f"{len(found.deadlines)} hạn, {len(found.windows)} đợt, {len(found.observances)} ngày"
except ImportFailed as exc:
    result = "refused: " + exc.message[:90]
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "result": result}))
"""


def measure(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return {"seconds": float("nan"), "rss_mb": float("nan"), "result": f"crashed: {out.stderr[-300:]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def rate(path: Path, what: str) -> dict:
    """Import `path`, print its rate and peak memory against the rate limit."""
    mb = path.stat().st_size / 1e6
    m = measure(path)
    per_second = mb / m["seconds"]
    print(f"\n{what}, {mb:.1f} MB:")
    print(f"  {m['seconds']:.1f} s ({per_second:.2f} MB/s), peak {m['rss_mb']:.0f} MB — {m['result']}")
    print(f"  limit: ≥ 0.3 MB/s — {verdict(per_second >= 0.3)}")
    return m


def main() -> None:
    # The reader's limits: bytes of a .txt or .md file, characters of any document's text.
    from importer.document import MAX_TEXT_CHARS, MAX_TEXT_FILE_BYTES

    baseline = measure(CORPUS / f"{SEEDS[1]}.txt")["rss_mb"]
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; a child process alone: ~{baseline:.0f} MB\n"
    )
    for name in SEEDS:
        m = measure(CORPUS / f"{name}.txt")
        size = (CORPUS / f"{name}.txt").stat().st_size / 1024
        print(
            f"{name}.txt ({size:.0f} KB): {m['seconds'] * 1000:.0f} ms, {m['rss_mb']:.0f} MB — {m['result']}"
        )
        print(f"  limit: under 2 s — {verdict(m['seconds'] < 2)}")

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "lon.txt"
        # Without the signature blocks, after which the importer reads nothing more.
        texts = [(CORPUS / f"{n}.txt").read_text(encoding="utf-8") for n in SEEDS]
        seeds = "\n\n".join(re.split(r"\n[^\n]*(?:Nơi nhận|Nguồn tin)", t)[0] for t in texts) + "\n\n"
        chunk, chars = seeds.encode(), 0
        with big.open("wb") as f:
            while f.tell() + len(chunk) < MAX_TEXT_FILE_BYTES and chars + len(seeds) < MAX_TEXT_CHARS:
                f.write(chunk)
                chars += len(seeds)
        m = rate(big, f"seeds repeated to {chars / 1e6:.1f}M characters (just under the limits)")
        print(f"  limit: under 1.5 GB — {verdict(m['rss_mb'] < 1536)}")

        adversarial = Path(tmp) / "doi-nghich.txt"
        lines = ["trước ngày 10/6/2024, ", "báo cáo Sở Y tế và Sở Nội vụ ", "UBND các huyện, các sở, ngành, "]
        lines += ["Tháng hành động vì bình đẳng giới ", "Ngày Hội Ngày Hội ", "Căn cứ a, b, c "]
        adversarial.write_text("".join(line * 8000 + "\n" for line in lines), encoding="utf-8")
        rate(adversarial, "adversarial text: six paragraphs, each one phrase the rules look for, repeated")

        huge = Path(tmp) / "rat-lon.txt"
        with huge.open("wb") as f:
            f.truncate(50 * 1024 * 1024)  # 50 MB, sparse: the refusal must not read it
        m = measure(huge)
        print(f"\n50 MB text: {m['seconds'] * 1000:.1f} ms, peak {m['rss_mb']:.0f} MB — {m['result']}")
        print(
            f"  limit: under 1 s — {verdict(m['seconds'] < 1)}; under 150 MB — {verdict(m['rss_mb'] < 150)}"
        )
    print(f"\n(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
