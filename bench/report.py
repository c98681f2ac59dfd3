"""Render bench/results.json as the markdown tables the README quotes: python3 bench/report.py [results.json]."""

import json
import sys
from pathlib import Path

PHASES = ["classify", "first_load", "noop_resync", "changed_10pct_resync", "removed_10pct_resync", "copy_baseline"]


def render(results: dict) -> str:
    lines = [
        "| models | phase | wall s | rows/s | µs/model | n_tup_ins | n_tup_upd | × COPY | by run | peak RSS MiB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for size in results["sizes"]:
        for name in PHASES:
            phase = size["phases"][name]
            lines.append(
                f"| {size['size']:,} | {name} | {phase['wall_s']:.3f} | {phase['rows_per_s']:,} | "
                f"{size['per_model_us'][name]} | {phase.get('n_tup_ins', '')} | {phase.get('n_tup_upd', '')} | "
                f"{phase.get('ratio_to_copy', '')} | {', '.join(map(str, phase.get('ratios_by_run', [])))} | "
                f"{phase.get('peak_rss_mib', '')} |"
            )
    e2e = results.get("end_to_end")
    if e2e:
        lines += ["", "| end to end (real 2026-06-24 catalog, 424 models) | value |", "|---|---:|"]
        lines += [f"| {key} | {value} |" for key, value in e2e.items() if key != "fixture"]
    return "\n".join(lines)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results.json"
    print(render(json.loads(path.read_text())))
