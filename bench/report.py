"""Turn bench results into results.json, results.md (ratios measured in one run) and results.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CPU_TARGETS = {1000.0: 30, 5000.0: 20}  # µs of CPU per prediction at a paced rate


def _us(ns: float) -> float:
    return ns / 1000.0


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per scenario: added latency vs bare, throughput, drops, memory."""
    latency = results["latency"]
    bare_median, bare_p99 = latency["bare"]["median_ns"], latency["bare"]["p99_ns"]
    table = []
    for scenario, measured in latency.items():
        added_median = max(0.0, _us(measured["median_ns"] - bare_median))
        row: dict[str, Any] = {
            "scenario": scenario,
            "median_us": _us(measured["median_ns"]),
            "p99_us": _us(measured["p99_ns"]),
            "added_median_us": added_median,
            "added_p99_us": max(0.0, _us(measured["p99_ns"] - bare_p99)),
            "peak_rss_mib": measured["peak_rss_kib"] / 1024,
        }
        through = results["throughput"].get(scenario)
        bare_through = results["throughput"].get("bare")
        if through and bare_through:
            row["b2b_added_median_us"] = max(0.0, _us(through["median_ns"] - bare_through["median_ns"]))
            row["b2b_added_p99_us"] = max(0.0, _us(through["p99_ns"] - bare_through["p99_ns"]))
        if through and scenario != "bare":
            row |= {
                "delivered_per_s": through["delivered_per_second"],
                "submitted_per_s": through["submitted_per_second"],
                "dropped": through["dropped_predictions"],
                "expected": through["expected_predictions"],
                "peak_rss_mib": max(row["peak_rss_mib"], through["peak_rss_kib"] / 1024),
            }
        table.append(row)
    ours = next((r for r in table if r["scenario"] == "otel-ml-logging"), None)
    for row in table:
        if ours and row["added_median_us"] and ours["added_median_us"]:
            row["added_median_vs_ours"] = row["added_median_us"] / ours["added_median_us"]
        if ours and row.get("delivered_per_s") and ours.get("delivered_per_s"):
            row["delivered_vs_ours"] = row["delivered_per_s"] / ours["delivered_per_s"]
    return table


def markdown(results: dict[str, Any], table: list[dict[str, Any]]) -> str:
    """A markdown table with the machine it ran on."""
    machine = results["machine"]
    lines = [
        f"Measured in one run on {machine['platform']}, Python {machine['python']}, {machine['cpus']} CPUs"
        + (" (benchmark process and collector pinned to separate cores)." if machine.get("pinned") else "."),
        f"Latency: predictions paced at {results['settings']['rate']:.0f}/s for "
        f"{results['settings']['paced_seconds']:g} s (+{results['settings']['warmup']} warm-up); "
        f"throughput: {results['settings']['throughput_count']} predictions back to back "
        f"(+{results['settings']['warmup']} warm-up), delivered = received by the collector. "
        f"Each scenario ran {results['settings'].get('rounds', 1)} times, interleaved with the others, each time "
        "in a fresh process: medians of the runs' medians and p99s; drops summed over the runs.",
        "",
        "| scenario | added median µs (paced) | added p99 µs (paced) | added median µs (back to back) | "
        "added p99 µs (back to back) | × ours (paced median) | delivered pred/s | × ours | dropped / expected "
        "| peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in table:
        delivered = f"{row['delivered_per_s']:,.0f}" if "delivered_per_s" in row else "-"
        dropped = f"{row['dropped']} / {row['expected']}" if "dropped" in row else "-"
        lines.append(
            f"| {row['scenario']} | {row['added_median_us']:.1f} | {row['added_p99_us']:.1f} | "
            f"{row.get('b2b_added_median_us', 0.0):.1f} | {row.get('b2b_added_p99_us', 0.0):.1f} | "
            f"{row.get('added_median_vs_ours', float('nan')):.1f} | {delivered} | "
            f"{row.get('delivered_vs_ours', float('nan')):.2f} | {dropped} | {row['peak_rss_mib']:.0f} |"
        )
    lines += ["", *cpu_table(results)]
    runs = results.get("elasticsearch") or []
    if runs:
        lines += [
            "",
            "Into the real Elasticsearch (one node, 1 GiB heap, same 2 cores) through the bundled collector:",
            "",
            "| telemetry | log records/s offered | log records/s indexed, end to end | indexed / expected | lost "
            "| CPU s (in the run) |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for es in runs:
            cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in es["cpu_seconds"].items())
            what = "2 records + 1 span per prediction" if es["with_spans"] else "2 records per prediction"
            lines.append(
                f"| {what} | {es['offered_records_per_second']:,.0f} | {es['indexed_records_per_second']:,.0f} | "
                f"{es['records_indexed']:,} / {es['records_expected']:,} | {es['records_lost']} | {cpu} "
                f"in {es['seconds_until_all_indexed']:.0f} s |"
            )
    gelf = results.get("gelf_udp_records_per_second") or {}
    if gelf:
        lines += [
            "",
            "GELF exporter (Go) over UDP, one core (`go test -bench UDPExport -cpu 1`): "
            + ", ".join(f"{name.replace('_', ' ')} {rate:,.0f} records/s" for name, rate in gelf.items())
            + ".",
        ]
    lines += ["", *targets(results, table)]
    return "\n".join(lines) + "\n"


def cpu_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """CPU per prediction of each scenario at each paced rate, minus bare's at that rate (µs)."""
    table = []
    for rate, by_scenario in results.get("paced", {}).items():
        bare = by_scenario["bare"]
        for scenario, measured in by_scenario.items():
            row: dict[str, Any] = {"rate": float(rate), "scenario": scenario}
            for part in ("process", "request", "background"):
                row[f"cpu_{part}_us"] = _us(measured[f"cpu_{part}_ns"] - bare[f"cpu_{part}_ns"])
            row["achieved_rate"] = measured["achieved_rate"]
            row["added_median_us"] = max(0.0, _us(measured["median_ns"] - bare["median_ns"]))
            row["added_p99_us"] = max(0.0, _us(measured["p99_ns"] - bare["p99_ns"]))
            row["dropped"], row["expected"] = measured["dropped_predictions"], measured["expected_predictions"]
            for key in ("delivery_median_s", "delivery_p99_s", "delivery_max_s"):
                if key in measured:
                    row[key] = measured[key]
            table.append(row)
    return table


def cpu_table(results: dict[str, Any]) -> list[str]:
    """The CPU-per-prediction table (markdown lines)."""
    table = cpu_rows(results)
    if not table:
        return []
    lines = [
        "CPU time per prediction, paced (user + system, whole process: every thread, and the final flush "
        "and shutdown), minus bare's at the same rate; request thread = the thread calling predict() "
        "while the predictions were made; background = the rest. Delivery = from the prediction's "
        "start until the collector had received both its log records (to within "
        "0.02 s); medians of the rounds, max over all rounds.",
        "",
        "| rate /s | scenario | CPU µs / prediction | request thread µs | background µs | achieved /s "
        "| added median / p99 µs | delivery median / p99 / max s | dropped / expected |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in table:
        if row["scenario"] == "bare":
            continue
        delivery = (
            f"{row['delivery_median_s']:.2f} / {row['delivery_p99_s']:.2f} / {row['delivery_max_s']:.2f}"
            if "delivery_median_s" in row
            else "-"
        )
        lines.append(
            f"| {row['rate']:,.0f} | {row['scenario']} | **{row['cpu_process_us']:.1f}** | "
            f"{row['cpu_request_us']:.1f} | {row['cpu_background_us']:.1f} | {row['achieved_rate']:,.0f} | "
            f"{row['added_median_us']:.1f} / {row['added_p99_us']:.1f} | {delivery} | "
            f"{row['dropped']} / {row['expected']} |"
        )
    return lines


def targets(results: dict[str, Any], table: list[dict[str, Any]]) -> list[str]:
    """The performance targets P1-P4 against this run's numbers, each marked met or not."""
    ours = next((r for r in table if r["scenario"] == "otel-ml-logging"), {})
    checks: list[tuple[str, str, bool]] = []
    if ours:
        for how, median_key, p99_key in (
            ("paced", "added_median_us", "added_p99_us"),
            ("back to back", "b2b_added_median_us", "b2b_added_p99_us"),
        ):
            if median_key in ours:
                median, p99 = ours[median_key], ours[p99_key]
                checks.append(
                    (
                        f"P1 ≤ 15 µs median, ≤ 100 µs p99 added ({how})",
                        f"{median:.1f} / {p99:.1f} µs",
                        median <= 15 and p99 <= 100,
                    )
                )
        if "delivered_per_s" in ours:
            checks.append(
                (
                    "P2 ≥ 10,000 predictions/s fully delivered, 0 dropped",
                    f"{ours['delivered_per_s']:,.0f}/s, {ours['dropped']} of {ours['expected']:,} dropped",
                    ours["delivered_per_s"] >= 10_000 and ours["dropped"] == 0,
                )
            )
    for row in cpu_rows(results):
        if row["scenario"] != "otel-ml-logging" or row["rate"] not in CPU_TARGETS:
            continue
        limit = CPU_TARGETS[row["rate"]]
        delivered = "delivery_max_s" in row and row["delivery_max_s"] <= 2.0 and row["dropped"] == 0
        checks.append(
            (
                f"P5 ≤ {limit} µs CPU per prediction at {row['rate']:,.0f}/s, 0 dropped, delivered within 2 s",
                f"{row['cpu_process_us']:.1f} µs, {row['dropped']} dropped, "
                f"max {row.get('delivery_max_s', float('nan')):.2f} s",
                row["cpu_process_us"] <= limit and delivered,
            )
        )
        if row["rate"] == 1000:
            median, p99 = row["added_median_us"], row["added_p99_us"]
            checks.append(
                (
                    "P6 ≤ 10 µs median, ≤ 50 µs p99 request-thread cost (paced at 1,000/s)",
                    f"{median:.1f} / {p99:.1f} µs",
                    median <= 10 and p99 <= 50,
                )
            )
    for es in results.get("elasticsearch") or []:
        what = "logs and spans" if es["with_spans"] else "logs only"
        checks.append(
            (
                f"P3 ≥ 5,000 log records/s into Elasticsearch, 0 lost ({what})",
                f"{es['indexed_records_per_second']:,.0f}/s, {es['records_lost']} lost",
                es["indexed_records_per_second"] >= 5_000 and es["records_lost"] == 0,
            )
        )
    gelf = results.get("gelf_udp_records_per_second") or {}
    if "gzip_default_threshold" in gelf:  # the exporter's defaults; forced per-message compression is listed above
        rate = gelf["gzip_default_threshold"]
        checks.append(
            ("P4 ≥ 50,000 GELF records/s over UDP, one core (default settings)", f"{rate:,.0f}/s", rate >= 50_000)
        )
    lines = ["| target | this run | met |", "|---|---:|---|"]
    lines += [f"| {target} | {value} | {'yes' if met else '**no**'} |" for target, value, met in checks]
    return lines


def plot(table: list[dict[str, Any]], cpu: list[dict[str, Any]], path: Path) -> None:
    """Three bar charts: added latency (median, p99), delivered predictions/s, CPU per prediction by rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [row["scenario"] for row in table]
    figure, (left, right, third) = plt.subplots(1, 3, figsize=(18, 4.2))
    series = [
        ("added_median_us", "median, paced"),
        ("added_p99_us", "p99, paced"),
        ("b2b_added_median_us", "median, back to back"),
        ("b2b_added_p99_us", "p99, back to back"),
    ]
    width = 0.2
    for offset, (key, label) in enumerate(series):
        positions = [i + (offset - 1.5) * width for i in range(len(names))]
        left.bar(positions, [row.get(key, 0.0) for row in table], width, label=label)
    left.set_xticks(list(range(len(names))), names, rotation=15)
    left.set_yscale("symlog", linthresh=1.0)
    left.set_ylabel("µs added per prediction (request thread)")
    left.legend(fontsize=8)
    through = [r for r in table if "delivered_per_s" in r]
    labels = [r["scenario"] + (" (to a file)" if r["scenario"] == "json-logger" else "") for r in through]
    right.bar(labels, [r["delivered_per_s"] for r in through], color="tab:green")
    right.set_ylabel("predictions/s fully delivered")
    right.tick_params(axis="x", rotation=15)
    rates = sorted({row["rate"] for row in cpu})
    telemetry = [name for name in names if name != "bare"]
    width = 0.8 / max(1, len(rates))
    for offset, rate in enumerate(rates):
        by_name = {row["scenario"]: row["cpu_process_us"] for row in cpu if row["rate"] == rate}
        positions = [i + (offset - (len(rates) - 1) / 2) * width for i in range(len(telemetry))]
        third.bar(positions, [max(0.0, by_name.get(n, 0.0)) for n in telemetry], width, label=f"{rate:,.0f}/s")
    third.set_xticks(list(range(len(telemetry))), telemetry, rotation=15)
    third.set_ylabel("CPU µs per prediction, all threads (paced)")
    third.legend(fontsize=8, title="paced at")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def write_report(results: dict[str, Any], out: Path) -> None:
    """Write results.json, results.md and results.png into ``out``."""
    table = rows(results)
    results["table"] = table
    (out / "results.json").write_text(json.dumps(results, indent=2))
    results["cpu_table"] = cpu_rows(results)
    (out / "results.md").write_text(markdown(results, table))
    plot(table, results["cpu_table"], out / "results.png")
