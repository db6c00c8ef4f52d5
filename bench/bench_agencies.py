"""Benchmark: `nhacviec agencies export` and `import` of the national configuration's agencies.

The configuration is the synthetic national one of bench_sync.py (tests/support/configs.py:
34 provinces, 4,341 agencies, two contacts each, one plan per province naming both groups of
the province; by default with its mergers: one agency in three has `valid_until` and
`succeeded_by`, `--no-lifetimes` for the plain one), written as real YAML files. Its agencies are exported to one .xlsx workbook (sheets Đơn vị and Nhóm) and to one
CSV file; each is then imported, as `nhacviec agencies import FILE --out agencies/all.yaml` does,
into a copy of the configuration whose agency files were removed, so that the import is checked
with the whole configuration (the 34 plans name the imported agencies and groups). A CSV file
is one table, without the Nhóm sheet: for it the groups stay declared in a file of their own.

Each import runs in its own Python process, so that its peak resident memory (ru_maxrss of the
child) is its own. Printed: export time, file sizes, and for each import the time to read the
file alone, the whole import (read, normalise, write the YAML text, load the configuration with
it) in wall-clock and CPU seconds (CPU time moves less when the machine is shared), and the peak
memory; then whether the configuration loaded afterwards has the same agencies,
groups, members and contacts as the original (the round trip at scale).

Goal (issue: "a 5,000-row sheet imports in seconds"): each import under 10 s and 500 MB.
The script prints whether it is met and always exits 0: benchmarks never fail the build.

    .venv/bin/python bench/bench_agencies.py               # full scale (4,341 agencies)
    .venv/bin/python bench/bench_agencies.py --scale 0.1   # quick smoke run
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from math import nan
from pathlib import Path

from common import verdict

from scheduler.config.agency_sheets import export_table, write_csv, write_xlsx
from scheduler.config.loader import load_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the synthetic national configuration
from tests.support.configs import make_shape, write_national_config

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 10.0
GOAL_PEAK_MB = 500.0

CHILD = """
import json, resource, sys, time
from pathlib import Path
from scheduler.config.agency_sheets import import_sheet, read_file

sheet, config, out, what = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
start, cpu = time.perf_counter(), time.process_time()
if what == "read":
    grid, _ = read_file(sheet)
    note = f"{len(grid.rows)} dòng"
else:
    result = import_sheet(sheet, config, out)
    out.write_text(result.text, encoding="utf-8")
    note = f"{result.agencies} đơn vị, {result.contacts} đầu mối, {result.groups} nhóm"
print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "note": note}))
"""


def child(sheet: Path, config: Path, out: Path, what: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(sheet), str(config), str(out), what],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        return {"seconds": nan, "cpu": nan, "rss_mb": nan, "note": f"failed: {done.stderr[-400:]}"}
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the national configuration")
    parser.add_argument(
        "--no-lifetimes", action="store_true", help="no mergers (no Hiệu lực / Đơn vị kế thừa columns)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nhacviec-bench-agencies-") as tmp:
        root = Path(tmp)
        config = write_national_config(root / "source", make_shape(args.scale), not args.no_lifetimes)
        original = load_config(config)
        print(
            f"configuration: {len(original.agencies):,} agencies, {len(original.groups)} groups, "
            f"{sum(len(c) for c in original.contacts.values()):,} contacts, {len(original.plans)} plans"
        )

        start = time.perf_counter()
        table = export_table(original)
        xlsx, csv_file = root / "don-vi.xlsx", root / "don-vi.csv"
        write_xlsx(table, xlsx)
        xlsx_seconds = time.perf_counter() - start
        start = time.perf_counter()
        with csv_file.open("w", encoding="utf-8", newline="") as stream:
            write_csv(table, stream)
        csv_seconds = time.perf_counter() - start
        print(
            f"export: {len(table.rows):,} rows × {len(table.headers)} columns; "
            f".xlsx {xlsx_seconds:.2f} s ({xlsx.stat().st_size / 2**20:.2f} MB), "
            f".csv +{csv_seconds:.2f} s ({csv_file.stat().st_size / 2**20:.2f} MB)"
        )

        met = True
        for sheet in (xlsx, csv_file):
            target = root / f"target-{sheet.suffix[1:]}"
            shutil.copytree(config, target)
            for file in (target / "agencies").glob("*.yaml"):
                file.unlink()
            if (
                sheet.suffix == ".csv"
            ):  # one table, no Nhóm sheet: the groups are declared in a file of their own
                groups = "".join(
                    f"  - {{id: {g[0]}, name: {json.dumps(g[1], ensure_ascii=False)}}}\n"
                    for g in table.groups
                )
                (target / "agencies" / "nhom.yaml").write_text(f"groups:\n{groups}", encoding="utf-8")
            out = target / "agencies" / "all.yaml"
            read = child(sheet, target, out, "read")
            whole = child(sheet, target, out, "import")
            same, load_seconds = False, nan
            if out.exists():
                start = time.perf_counter()
                loaded = load_config(target)
                load_seconds = time.perf_counter() - start
                same = (loaded.agencies, loaded.groups, loaded.members, loaded.contacts) == (
                    original.agencies,
                    original.groups,
                    original.members,
                    original.contacts,
                )
            ok = whole["seconds"] < GOAL_SECONDS and whole["rss_mb"] < GOAL_PEAK_MB and same
            met &= ok
            print(
                f"import {sheet.suffix}: read {read['seconds']:.2f} s ({read['note']}, peak {read['rss_mb']:.0f} MB); "
                f"whole import {whole['seconds']:.2f} s ({whole['cpu']:.2f} s CPU), peak {whole['rss_mb']:.0f} MB "
                f"({whole['note']}); the configuration's load alone, as `check` does it: {load_seconds:.2f} s; "
                f"round trip {'identical' if same else 'DIFFERENT'}"
            )
        print(
            f"goal: each import < {GOAL_SECONDS:.0f} s and < {GOAL_PEAK_MB:.0f} MB, same configuration: "
            f"{verdict(met)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
