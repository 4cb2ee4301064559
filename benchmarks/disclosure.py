"""`make bench-disclosure`: information lost to disclosure control, whole-unit method versus
secondary suppression by optimisation (docs/disclosure.md), on the small and the national demo.

For each demo warehouse and each method: seconds to choose the suppression, the share of cells and
of output value hidden (by kind of cell and over all, audit.information_loss), the audit's verdict
and narrowest interval of a confidential cell, which area and national indexes (and national
uncertainty percentiles) are hidden, and the narrowest interval of a hidden area index under a
published national index.
The table is printed and written to benchmarks/results/disclosure-<date>.json.

A warehouse is built with `sovereignty demo --scale <scale> --seed <seed>` and `sovereignty run`
in --work/<scale>-seed<seed> when absent (the national demo: 1.1 GB of reports, 3 to 4 minutes);
--warehouse SCALE=FILE uses an existing one instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.publication.audit import audit_release  # noqa: E402
from pipelines.publication.disclosure import DisclosurePolicy, suppress, whole_unit_suppression  # noqa: E402
from pipelines.publication.extracts import build_extracts  # noqa: E402

BIN = Path(sys.executable).parent
TODAY = "2026-11-28"  # pinned, so that every figure is reproducible
METHODS = {"whole-unit": whole_unit_suppression, "optimal": suppress}


def demo_warehouse(work: Path, scale: str, seed: int) -> Path:
    home = work / f"{scale}-seed{seed}"
    warehouse = home / "warehouse.duckdb"
    if not warehouse.exists():
        env = {**os.environ, "SOVEREIGNTY_HOME": str(home), "SOVEREIGNTY_TODAY": TODAY}
        print(f"Building the {scale} demo (seed {seed}) in {home} ...", flush=True)
        subprocess.run([BIN / "sovereignty", "demo", "--scale", scale, "--seed", str(seed)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([BIN / "sovereignty", "run"], env=env, check=True, stdout=subprocess.DEVNULL)
    return warehouse


def measure(warehouse: Path, policy: DisclosurePolicy) -> dict:
    results = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for method, choose in METHODS.items():
            started = time.monotonic()
            suppression = choose(con, policy)
            seconds = time.monotonic() - started
            frames = {name: extract.frame for name, extract in build_extracts(con, policy, suppression).items()}
            audit = audit_release(con, policy, frames)
            narrowest = audit.narrowest(True)
            areas = suppression.area_years.filter("index_suppressed")
            results[method] = {
                "method_used": suppression.method,
                "fallback_reason": suppression.fallback_reason,
                "seconds": round(seconds, 2),
                "information_loss": audit.loss,
                "audit_passed": audit.passed,
                "audit_failures": len(audit.failures),
                "narrowest_confidential_interval": narrowest.as_json() if narrowest else None,
                "area_indexes_hidden": [f"{code} {year}" for code, year in areas.select("project_code", "year").iter_rows()],
                "national_indexes_hidden": suppression.years.filter("index_suppressed")["year"].to_list(),
                "national_percentiles_hidden": suppression.years.filter("uncertainty_suppressed")["year"].to_list(),
                "narrowest_index_interval": audit.summary()["narrowest_index"],
            }
    return results


def print_table(scale: str, results: dict) -> None:
    print(f"\n{scale}")
    print(f"  {'method':<11} {'seconds':>8} {'cells hidden':>14} {'output hidden':>14} {'products (q)':>13} "
          f"{'regions':>9} {'audit':>6} {'narrowest':>10}  indexes hidden")
    for method, r in results.items():
        loss, narrowest = r["information_loss"], r["narrowest_confidential_interval"]
        gap = min(g for g in (narrowest["below"], narrowest["above"]) if g is not None) if narrowest else None
        print(f"  {method:<11} {r['seconds']:>8.2f} {loss['all']['hidden_cell_share']:>14.2%} "
              f"{loss['all']['hidden_output_share']:>14.2%} {loss['product_quarter']['hidden_output_share']:>13.2%} "
              f"{loss['region']['hidden_output_share']:>9.2%} {'pass' if r['audit_passed'] else 'FAIL':>6} "
              f"{(f'{gap:.1%}' if gap is not None else '-'):>10}  "
              f"{len(r['area_indexes_hidden'])} areas, ALL {r['national_indexes_hidden'] or 'none'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", nargs="+", default=["small", "national"], choices=["small", "national"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=REPO / "data" / "bench")
    parser.add_argument("--warehouse", action="append", default=[], metavar="SCALE=FILE",
                        help="an existing warehouse for a scale, instead of building the demo")
    args = parser.parse_args()
    given = dict(item.split("=", 1) for item in args.warehouse)
    policy = DisclosurePolicy()
    report = {"date": date.today().isoformat(), "seed": args.seed, "protection": policy.protection,
              "secondary_protection": policy.secondary_protection, "scales": {}}
    for scale in args.scale:
        warehouse = Path(given[scale]) if scale in given else demo_warehouse(args.work, scale, args.seed)
        report["scales"][scale] = measure(warehouse, policy)
        print_table(scale, report["scales"][scale])
    out = REPO / "benchmarks" / "results" / f"disclosure-{report['date']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"\nWritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
