"""CPU instructions per model of classification, counted by valgrind's callgrind.

    python3 bench/classify_instructions.py                  # 10k synthetic models
    python3 bench/classify_instructions.py --size 100000    # about 2 minutes

run_bench.py's models per second follow the machine's speed, which varied 2.5-fold between the machines this
project was measured on. An instruction count does not: it is the same for the same code, interpreter and
inputs, however fast or busy the machine. So it compares versions of the rules, not machines.

It runs the interpreter twice under callgrind with a fixed hash seed: once building the synthetic catalog, once
building and classifying it (from empty memos, as a Dagster step starts), each ending before the interpreter's
teardown. The difference, divided by the number of models, is what classification costs. It prints figures and
asserts nothing about them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _child(size: int, classify: bool) -> None:
    sys.path.insert(0, str(REPO))
    from synthetic import synthetic_catalog

    from catalog_pipeline.classification import classify_catalog, forget_memos

    models = synthetic_catalog(size)
    if classify:
        forget_memos()
        result = classify_catalog(models)
        gc.collect(0)  # the rows' first collection, as run_bench.py counts it
        assert len(result.rows) + len(result.set_aside) + len(result.duplicate_ids) == size
    # Skip the interpreter's teardown in both runs: freeing the rows is not classification's work, and the
    # wall-clock benchmark does not time it either.
    os._exit(0)


def _instructions(size: int, classify: bool, folder: Path) -> int:
    out = folder / f"callgrind.{int(classify)}.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        "--child-size",
        str(size),
        *(["--classify"] if classify else []),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(command, env=env, check=True, capture_output=True)
    for line in out.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise SystemExit(f"no instruction total in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="synthetic models to classify")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--child-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--classify", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_size is not None:
        _child(args.child_size, args.classify)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")

    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as pool:
        setup, total = pool.map(lambda classify: _instructions(args.size, classify, Path(tmp)), (False, True))
    from synthetic import fixture_path

    result = {
        "fixture": fixture_path().name,  # the cloned catalog: without ../shared, the hand-written one
        "models": args.size,
        "python": sys.version.split()[0],
        "instructions_setup": setup,
        "instructions_setup_and_classify": total,
        "instructions_per_model": round((total - setup) / args.size),
    }
    for key, value in result.items():
        print(f"{key:34s} {value}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
