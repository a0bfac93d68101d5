"""The printed summary of ``python -m benchmarks`` (one function per block of lines)."""

from __future__ import annotations

from typing import Any

__all__ = ["table"]


def _fmt(v: Any, digits: int = 3) -> str:
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def table(r: dict[str, Any]) -> str:
    """The printed summary."""
    from .speed import table as speed_table

    m = r["machine"]
    lines = [f"recode_magic benchmarks — {m['platform']}, {m['cpus']} CPUs"
             + (f", {m['memory_gib']} GiB" if m.get("memory_gib") else "")
             + f", Python {m['python']}, {m['date']}"
             + (f" ({m['note']})" if m.get("note") else ""), ""]
    lines += _overhead(r) + _tokens(r) + _replay_widget(r) + _parallel(r)
    lines += speed_table(r) + _rest(r)
    return "\n".join(lines)


def _overhead(r: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    ref = {(x.get("shape"), x.get("nodes")): x for x in r.get("reference", [])}
    lines.append("Engine overhead, zero-latency scripted model (CPU ms per node)")
    lines.append(f"{'tree':<12}{'nodes':>7}{'engine':>9}{'+timeout':>10}{'+widget':>9}"
                 f"{'export':>9}{'eng/exp':>9}{'reference':>11}{'ref/eng':>9}")
    for row in r["overhead"]:
        rf = ref.get((row["shape"], row["nodes"]))
        rms = rf["ms_per_node"] if rf and not rf.get("error") else None
        ref_cell = f"{rms:.3f}" if rms else ("failed" if rf else "-")
        ratio_cell = f"{rms / row['ms_per_node']:.1f}x" if rms else "-"
        lines.append(
            f"{row['shape']:<12}{row['nodes']:>7}{row['ms_per_node']:>9.4f}"
            f"{row['ms_per_node_timeout']:>10.4f}{row['ms_per_node_widget']:>9.4f}"
            f"{row['export_ms'] / row['nodes']:>9.4f}{row['ratio_to_export']:>9.1f}"
            f"{ref_cell:>11}{ratio_cell:>9}")
    for (shape, n), rf in ref.items():
        if not any(o["shape"] == shape and o["nodes"] == n for o in r["overhead"]):
            lines.append(f"{shape:<12}{n:>7}{'':>55}"
                         f"{(_fmt(rf['ms_per_node']) if not rf.get('error') else 'failed'):>11}"
                         f"  {rf.get('error') or ''}"[:140])
    return lines


def _tokens(r: dict[str, Any]) -> list[str]:
    t = r["tokens"]
    lines = ["", f"Prompt tokens ({t['tokenizer']})",
              f"  ours: {t['ours_mean']:.0f} per expansion, fixed part {t['ours_fixed']} "
              f"({t['ours_fixed_share']:.0%})"]
    if "reference_mean" in t:
        lines.append(f"  reference format, same expansions: {t['reference_mean']:.0f} "
                     f"(min {t['reference_min']}, max {t['reference_max']})")
    lines.append(f"  billable input over {t['expansions']} expansions: {t['billable_uncached']}"
                 f" uncached, {t['billable_cached']:.0f} cached ({t['cache_saving']:.0%} less)")
    lines.append(f"  fake Messages API accounting: {t['server_billable_uncached']:.0f} uncached,"
                 f" {t['server_billable_cached']:.0f} cached ("
                 f"{1 - t['server_billable_cached'] / t['server_billable_uncached']:.0%} less)")
    return lines


def _replay_widget(r: dict[str, Any]) -> list[str]:
    lines = ["", "Replay from a cassette (100 nodes)"]
    for label, row in r["replay"].items():
        lines.append(f"  {label:<20} model calls {row['model_calls']}, replay "
                     f"{row['replay_ms']:.1f} ms vs exported {row['export_ms']:.1f} ms "
                     f"= {row['ratio']:.2f}x")
    w = r["widget"]
    lines += ["", "Widget (5 ms scripted model)"]
    for n in (100, 1000):
        x = w[f"fan_{n}"]
        lines.append(f"  {n:>5} nodes: {x['messages']} messages, {x['bytes'] / 1024:.0f} KiB, "
                     f"{x['messages_per_s']:.1f} msgs/s over {x['seconds']:.1f} s")
    lines.append(f"  browser render of a 1,000-node tree: "
                 f"{_fmt(w.get('browser_render_ms_1000', '-'), 0)} ms")
    return lines


def _parallel(r: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    p = r.get("parallel")
    if p:
        lines += ["", f"Parallel expansion (fake model, {p['latency_s']:g} s a call; "
                      f"sequential vs prefetch=16, wall s)"]
        for label, row in p.items():
            if isinstance(row, dict):
                lines.append(f"  {label:<12} {row['sequential_s']:>6.2f} vs "
                             f"{row['parallel_s']:>6.2f} ({row['ratio']:.2f}x), asked ahead "
                             f"{row['prefetched']}, used {row['used']}, wasted {row['wasted']}"
                             f"{'' if row['identical'] else ', RESULTS DIFFER'}")
        lines.append(f"  wasted calls: {p['wasted_share']:.0%} of the calls made")
    q = r.get("parallel_suite")
    if q and "total" in q:
        from .suite_parallel import table as suite_table

        lines += ["", suite_table(q)]
    return lines


def _rest(r: dict[str, Any]) -> list[str]:
    m = r["memory"]
    lines = ["", f"Memory: {m['nodes']}-node run peaks at {m['peak_traced_mib']:.1f} MiB traced"
              f" (process max RSS {m['max_rss_mib']:.0f} MiB)"]
    s = r["startup"]
    lines += [f"Start-up: %load_ext recode_magic {s['recode_magic_s'] * 1000:.0f} ms"
              + (f", %load_ext jupyter_ai_magics {_fmt(s['jupyter_ai_magics_s'], 2)} s"
                 if "jupyter_ai_magics_s" in s else "")]
    return lines
