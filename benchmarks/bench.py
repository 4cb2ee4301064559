"""`make bench`: the national-scale benchmark (see benchmarks/README.md).

On the same files and in one run, it measures:
  full          `sovereignty run` from an empty home (ingest, dbt build, checks, publish) on every
                report except the last quarter's;
  incremental   `sovereignty run` again after the last quarter's reports arrive (a cold process);
  incremental warm  the same quarter arriving in a copy of the full run's home where `sovereignty
                serve` already waits (a warm process: the pipeline loaded): from the files' arrival
                to the end of the run it starts;
  parse floor   benchmarks/floors.py parse: the files of `full` read into memory by the fastest
                reader, nothing else;
  transform floor  benchmarks/floors.py transform: the revision rule and the independence and
                leadership aggregates in plain DuckDB SQL on the rows the full run kept;
  baseline      benchmarks/baseline.py: one hand-written DuckDB SQL script computing the
                independence and leadership marts from the same files as `full` (a correctness
                cross-check kept for comparison; the ratios that count are to the floors);
  spark full    `SOVEREIGNTY_ENGINE=spark sovereignty run` on the files of `full`, in a home of its
                own: the same pipeline with a local Spark building and checking the marts;
  scaling       the full stage again on the national demo generated at other volumes (--scales,
                by default 1/4 and 1/2 of its enterprises, beside the full stage itself), each with
                its own parse floor, and how time grows with volume.
For each: wall time and the peak resident memory of the whole process tree (every process the
stage started, summed, sampled every 50 ms); a floor's seconds are the work itself, timed inside
its process. Ingestion throughput per input format comes from the full run's audit.loads, and the
full run's time per Dagster step from its event log. The table is printed and written to
benchmarks/results/<date>.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TODAY = "2026-11-28"  # pinned, so that the cached demo and every figure are reproducible
# Issue #12: ingestion within 2.5x the parse floor, a full run within 3x both floors, an
# incremental quarter at most 0.10 of a full run, every stage under 4 GiB.
TARGETS = {"ingestion_over_parse_floor": 2.5, "full_over_floors": 3.0, "incremental_over_full": 0.10,
           "peak_rss_gib": 4.0}


# --- the national demo, generated once per seed and generator version ----------------------------


def demo_version() -> str:
    """Changes whenever the generator or the catalogues it draws from change."""
    digest = hashlib.sha256()
    for path in [*sorted((REPO / "demo").glob("*.*")), *sorted((REPO / "dbt_project" / "seeds").glob("*.csv"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cached_demo(work: Path, seed: int, volume: float = 1.0) -> Path:
    """A home whose inbox holds the national demo at a volume (1 = national, 0.25 = a quarter of
    its enterprises); generated when absent, reused afterwards."""
    scaled = "" if volume == 1 else f"-x{volume:g}"
    source = work / f"national{scaled}-seed{seed}-{demo_version()}"
    if not (source / "demo" / "manifest.json").exists():
        shutil.rmtree(source, ignore_errors=True)
        print(f"Generating the national demo (seed {seed}, volume {volume:g}) into {source} (once) ...", flush=True)
        subprocess.run([BIN / "sovereignty", "demo", "--scale", "national", "--seed", str(seed), "--volume", str(volume)],
                       env=environment(source), check=True, stdout=subprocess.DEVNULL)
    return source


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "SOVEREIGNTY_HOME": str(home), "SOVEREIGNTY_TODAY": TODAY}


def split_last_quarter(source: Path) -> tuple[list[dict], list[dict], str]:
    """The demo's files as (earlier, last quarter's, last quarter), from its manifest."""
    files = json.loads((source / "demo" / "manifest.json").read_text())["files"]
    last = max(q for f in files for q in f.get("quarters", []))
    held = [f for f in files if f.get("quarters") and set(f["quarters"]) == {last}]
    return [f for f in files if f not in held], held, last


def link_into(source: Path, files: list[dict], inbox: Path) -> int:
    """Hard links keep the files' bytes and mtimes (arrival order) and cost no copy."""
    size = 0
    for entry in files:
        target = inbox / entry["kind"] / entry["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source / "inbox" / entry["kind"] / entry["file"], target)
        size += target.stat().st_size
    return size


# --- measuring a stage ---------------------------------------------------------------------------


def tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid, ppid = int(entry.name), int(fields["PPid"])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(name: str, command: list, env: dict[str, str], log: Path) -> dict:
    """Run a stage to its end: wall seconds, peak RSS of its process tree, exit code."""
    print(f"[{name}] {' '.join(map(str, command))}", flush=True)
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=REPO)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.05)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"[{name}] failed with exit code {process.returncode}: see {log}")
    return stage_result(name, seconds, peak, log)


def stage_result(name: str, seconds: float, peak: int, log: Path) -> dict:
    """A measured stage as printed and kept in the results."""
    print(f"[{name}] {seconds:.1f} s, peak RSS {peak / 2**30:.2f} GiB", flush=True)
    return {"seconds": round(seconds, 2), "peak_rss_gib": round(peak / 2**30, 3), "log": str(log)}


def measure_warm(name: str, home: Path, arrive, log: Path) -> dict:
    """`sovereignty serve` on home: once it waits (its start-up run ended), arrive() delivers the
    reports; the seconds from then to the end of the run they start, and the peak RSS of the
    serving process tree meanwhile."""
    print(f"[{name}] sovereignty serve in {home}", flush=True)
    with open(log, "w") as output:
        process = subprocess.Popen([BIN / "sovereignty", "serve", "--poll", str(WARM_POLL_SECONDS)], env=environment(home),
                                   stdout=output, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            wait_for_runs(process, log, 1)
            started, peak = time.perf_counter(), 0
            arrive()
            while not runs_ended(log, 2):
                peak = max(peak, tree_rss(process.pid))
                time.sleep(0.05)
            seconds = time.perf_counter() - started
        finally:
            process.terminate()
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                raise SystemExit(f"[{name}] sovereignty serve did not stop on SIGTERM: see {log}") from None
    if "exit code 0" not in [line for line in log.read_text().splitlines() if "Run ended after" in line][-1]:
        raise SystemExit(f"[{name}] the run failed: see {log}")
    return stage_result(name, seconds, peak, log)


def copied_home(home: Path, copy: Path) -> Path:
    """A copy of a home that has been run, with dbt's parse state for its own path: dbt's profile
    names the home, so without it the copy's first build would parse the whole project again (a
    home that stays where it is keeps its state from build to build)."""
    shutil.copytree(home, copy, symlinks=True)
    subprocess.run([sys.executable, "-m", "pipelines.transformation.dbt_command", "parse", "--quiet", "--target-path",
                    str(copy / "dbt" / "target")], env=environment(copy), cwd=REPO, check=True)
    return copy


# `sovereignty serve --poll` in the warm stage: a run starts at most this long after the files arrive
WARM_POLL_SECONDS = 0.5


def runs_ended(log: Path, count: int) -> bool:
    return log.read_text().count("Run ended after") >= count


def wait_for_runs(process: subprocess.Popen, log: Path, count: int) -> None:
    while not runs_ended(log, count):
        if process.poll() is not None:
            raise SystemExit(f"sovereignty serve ended: see {log}")
        time.sleep(0.2)


def measure_floor(name: str, command: list, scratch: Path) -> dict:
    """A floor's stage: measured like the others, plus the work's own seconds it prints last."""
    log = scratch / f"{name.replace(' ', '-')}.log"
    stage = measure(name, command, os.environ.copy(), log)
    printed = json.loads(log.read_text().strip().splitlines()[-1])
    return {**stage, "work_seconds": printed["seconds"], "details": printed}


# --- what the full run spent its time on ---------------------------------------------------------


def ingestion_throughput(warehouse: Path) -> list[dict]:
    """Rows and bytes per second of ingestion time, per input format (loaded files only).

    A file's time is from the end of the previous load (or its own start, if later) to its own
    end: the next file is read while the current one is written, so start-to-end times overlap,
    while these add up to the ingestion's wall time."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """
            with timed as (
                select status, file_format, rows_read, size_bytes,
                       epoch(finished_at) - epoch(greatest(started_at, coalesce(
                           lag(finished_at) over (order by finished_at, load_id), started_at))) as seconds
                from audit.loads
            )
            select file_format, count(*), sum(rows_read), sum(size_bytes), sum(seconds)
            from timed where status = 'loaded' group by file_format order by file_format
            """
        ).fetchall()
    return [
        {"format": fmt, "files": files, "rows": rows_read, "mb": round(size / 1e6, 1), "seconds": round(seconds, 2),
         "rows_per_s": round(rows_read / seconds), "mb_per_s": round(size / 1e6 / seconds, 2)}
        for fmt, files, rows_read, size, seconds in rows
    ]


def step_seconds(home: Path) -> dict[str, float]:
    """Seconds per stage of the newest Dagster run of a home (ingestion, dbt, checks, publish)."""
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        stages: dict[str, float] = {}
        for step in instance.get_run_step_stats(run.run_id):
            key = step.step_key
            stage = ("quality checks (GX)" if "_gx_" in key else "ingestion" if key.startswith("raw__")
                     else "dbt build" if key == "warehouse_models" else "publication" if key.startswith("published__")
                     else key)
            stages[stage] = stages.get(stage, 0.0) + (step.end_time - step.start_time)
        run_stats = instance.get_run_stats(run.run_id)
        stages["Dagster run in all"] = run_stats.end_time - run_stats.start_time
    return {stage: round(seconds, 2) for stage, seconds in stages.items()}


# --- the scaling curve ---------------------------------------------------------------------------

STEPS = ("ingestion", "dbt build", "quality checks (GX)", "publication")


def scale_point(volume: float, input_bytes: int, stage: dict, steps: dict[str, float], floor: dict) -> dict:
    return {"volume": volume, "input_gb": round(input_bytes / 1e9, 3), "rows": floor["details"]["rows"],
            "seconds": stage["seconds"], "peak_rss_gib": stage["peak_rss_gib"],
            "parse_floor_seconds": floor["work_seconds"], "steps": {step: steps.get(step, 0.0) for step in STEPS}}


def growth_exponents(points: list[dict]) -> dict[str, float]:
    """How time grows with volume between the smallest and the largest point: t ~ volume^k, so
    k = 1 is linear growth and k < 1 a fixed cost that the larger run spreads over more rows."""
    small, large = min(points, key=lambda p: p["volume"]), max(points, key=lambda p: p["volume"])
    span = math.log(large["volume"] / small["volume"])
    pairs = {"full run": (small["seconds"], large["seconds"]), "parse floor": (small["parse_floor_seconds"], large["parse_floor_seconds"]),
             **{step: (small["steps"][step], large["steps"][step]) for step in STEPS}}
    return {name: round(math.log(b / a) / span, 2) for name, (a, b) in pairs.items() if a > 0 and b > 0}


# --- the report ----------------------------------------------------------------------------------


def print_table(result: dict) -> None:
    stages = result["stages"]
    print("\nstage              wall s   work s   peak RSS GiB")
    for name, stage in stages.items():
        work = f"{stage['work_seconds']:>9.2f}" if "work_seconds" in stage else " " * 9
        print(f"{name:<17}{stage['seconds']:>8.1f}{work}{stage['peak_rss_gib']:>15.2f}")
    print("\nratio                                measured   target   met")
    for name, (value, target, met) in result["ratios"].items():
        shown = f"{target:>9.2f}   {'yes' if met else 'NO'}" if target is not None else ""
        print(f"{name:<37}{value:>8.3f}{shown}")
    print("\nfull run by stage (s):  " + ", ".join(f"{k} {v}" for k, v in result["full_run_steps"].items()))
    print("spark full run by stage (s):  " + ", ".join(f"{k} {v}" for k, v in result["spark_full_run_steps"].items()))
    print("\nscaling     GB       rows   full s  s per x1   ingestion   dbt build   GX   publication  peak GiB")
    for point in result["scaling"]["points"]:
        steps = point["steps"]
        print(f"x{point['volume']:<6g}{point['input_gb']:>7.2f}{point['rows']:>11}{point['seconds']:>9.1f}"
              f"{point['seconds'] / point['volume']:>10.1f}{steps['ingestion']:>12.1f}{steps['dbt build']:>12.1f}"
              f"{steps['quality checks (GX)']:>6.1f}{steps['publication']:>14.1f}{point['peak_rss_gib']:>10.2f}")
    print("growth exponent (time ~ volume^k; 1 = linear): "
          + ", ".join(f"{name} {k}" for name, k in result["scaling"]["growth_exponents"].items()))
    print("\ningestion   files        rows      MB   seconds     rows/s    MB/s")
    for fmt in result["ingestion_throughput"]:
        print(f"{fmt['format']:<10}{fmt['files']:>6}{fmt['rows']:>12}{fmt['mb']:>8}{fmt['seconds']:>10}"
              f"{fmt['rows_per_s']:>11}{fmt['mb_per_s']:>8}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=REPO / "data" / "bench", help="cache and scratch homes")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--scales", type=lambda text: sorted({float(v) for v in text.split(",")}), default=[0.25, 0.5, 1.0],
                        help="volumes of the national demo for the scaling curve, comma-separated (default 0.25,0.5,1; "
                             "1 is the full stage); 2 doubles it, for a machine with the memory and time")
    args = parser.parse_args()

    source = cached_demo(args.work, args.seed)
    earlier, held, last = split_last_quarter(source)
    scratch = args.work / "run"
    shutil.rmtree(scratch, ignore_errors=True)
    home, baseline_inbox = scratch / "home", scratch / "baseline-inbox"
    input_bytes = link_into(source, earlier, home / "inbox")
    link_into(source, earlier, baseline_inbox)
    print(f"{len(earlier)} files ({input_bytes / 1e9:.2f} GB) before {last}; {len(held)} files of {last} held back")

    sovereignty = [BIN / "sovereignty", "run"]
    stages = {"full": measure("full", sovereignty, environment(home), scratch / "full.log")}
    steps = step_seconds(home)
    throughput = ingestion_throughput(home / "warehouse.duckdb")
    floors = [sys.executable, REPO / "benchmarks" / "floors.py"]  # the transform floor reads the full run's rows
    transform = measure_floor("transform floor", [*floors, "transform", "--home", home], scratch)
    warm_home = copied_home(home, scratch / "warm-home")  # the full run's home, for the warm process
    link_into(source, held, home / "inbox")
    stages["incremental"] = measure("incremental", sovereignty, environment(home), scratch / "incremental.log")
    stages["incremental warm"] = measure_warm("incremental warm", warm_home, lambda: link_into(source, held, warm_home / "inbox"),
                                              scratch / "incremental-warm.log")
    shutil.rmtree(warm_home)
    baseline = [sys.executable, REPO / "benchmarks" / "baseline.py", "--inbox", baseline_inbox,
                "--database", scratch / "baseline.duckdb"]
    stages["baseline"] = measure("baseline", baseline, environment(scratch), scratch / "baseline.log")
    stages["parse floor"] = measure_floor("parse floor", [*floors, "parse", "--inbox", baseline_inbox], scratch)
    stages["transform floor"] = transform
    # The Spark engine on the same files (issue #14): a full run in a home of its own.
    spark_home = scratch / "spark-home"
    link_into(source, earlier, spark_home / "inbox")
    stages["spark full"] = measure("spark full", sovereignty, {**environment(spark_home), "SOVEREIGNTY_ENGINE": "spark"},
                                   scratch / "spark-full.log")
    spark_steps = step_seconds(spark_home)
    # The scaling curve (issue #12): the full run at each volume of the demo, in a home of its own.
    scaling = []
    for volume in args.scales:
        if volume == 1:
            scaling.append(scale_point(1.0, input_bytes, stages["full"], steps, stages["parse floor"]))
            continue
        scaled = cached_demo(args.work, args.seed, volume)
        scaled_files, _, _ = split_last_quarter(scaled)
        scaled_home, scaled_inbox = scratch / f"x{volume:g}-home", scratch / f"x{volume:g}-inbox"
        scaled_bytes = link_into(scaled, scaled_files, scaled_home / "inbox")
        link_into(scaled, scaled_files, scaled_inbox)
        run = measure(f"full x{volume:g}", sovereignty, environment(scaled_home), scratch / f"full-x{volume:g}.log")
        floor = measure_floor(f"parse floor x{volume:g}", [*floors, "parse", "--inbox", scaled_inbox], scratch)
        scaling.append(scale_point(volume, scaled_bytes, run, step_seconds(scaled_home), floor))

    full, incremental, base = (stages[s]["seconds"] for s in ("full", "incremental", "baseline"))
    parse_floor, transform_floor = stages["parse floor"]["work_seconds"], stages["transform floor"]["work_seconds"]
    # the memory budget is the DuckDB engine's (#12); Spark's driver memory is a setting of its own
    peak = max(s["peak_rss_gib"] for name, s in stages.items() if not name.startswith("spark"))
    ratios = {
        "ingestion / parse floor": (steps["ingestion"] / parse_floor, TARGETS["ingestion_over_parse_floor"]),
        "full / (parse + transform floors)": (full / (parse_floor + transform_floor), TARGETS["full_over_floors"]),
        "incremental / full": (incremental / full, TARGETS["incremental_over_full"]),
        "incremental warm / full": (stages["incremental warm"]["seconds"] / full, TARGETS["incremental_over_full"]),
        "peak RSS GiB (max)": (peak, TARGETS["peak_rss_gib"]),
        "full / baseline (no target)": (full / base, None),
        "spark full / duckdb full (no target)": (stages["spark full"]["seconds"] / full, None),
    }
    result = {
        "date": date.today().isoformat(),
        "machine": {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                    "python": platform.python_version(), "duckdb": duckdb.__version__},
        "demo": {"scale": "national", "seed": args.seed, "today": TODAY, "files_full": len(earlier),
                 "files_incremental": len(held), "incremental_quarter": last, "input_gb_full": round(input_bytes / 1e9, 3)},
        "stages": stages,
        "ratios": {name: (round(value, 4), target, target is None or value <= target) for name, (value, target) in ratios.items()},
        "full_run_steps": steps,
        "spark_full_run_steps": spark_steps,
        "ingestion_throughput": throughput,
        "scaling": {"points": scaling, "growth_exponents": growth_exponents(scaling) if len(scaling) > 1 else {}},
    }
    print_table(result)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{result['date']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nWritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
