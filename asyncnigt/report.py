"""The end-of-run table on the terminal: per method, the virtual time to each target of
the scenario (``-``: not reached), the final objective and ‖∇J‖, gradients used and
computed, communications, virtual time and wall-clock seconds."""

from __future__ import annotations


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def format_table(headers, rows) -> str:
    cells = [list(map(str, headers))] + [[_fmt(v) for v in r] for r in rows]
    widths = [max(len(c[j]) for c in cells) for j in range(len(headers))]
    lines = ["  ".join(c[j].rjust(widths[j]) if j else c[j].ljust(widths[j]) for j in range(len(c)))
             for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def target_columns(outcomes, scenario) -> list[tuple[str, str]]:
    """``(summary key, header)`` per target, in the scenario's order: ``t(obj≥50)`` for a
    maximised objective, ``t(obj≤0.1)`` for a minimised one, ``t(‖∇‖≤0.1)``."""
    sense = outcomes[0].summary.get("sense", "max") if outcomes else "max"
    out = []
    for key, values in scenario.targets.items():
        name = "‖∇‖" if key == "grad_norm" else "obj"
        sign = "≥" if key == "objective" and sense == "max" else "≤"
        out += [(f"time_to_{key}_{v!r}", f"t({name}{sign}{v:g})") for v in values]
    return out


def print_table(outcomes, scenario) -> None:
    targets = target_columns(outcomes, scenario)
    failed = any(o.summary["status"] != "ok" for o in outcomes)
    headers = ["method", *(["status"] if failed else []), *(h for _, h in targets),
               "final objective", "final ‖∇‖", "grads used", "grads computed", "comms",
               "virtual time", "wall s"]
    rows = [[o.label, *([o.summary["status"]] if failed else []),
             *(o.summary.get(k) for k, _ in targets), o.summary["final_objective"],
             o.summary["final_grad_norm"], o.summary["gradients_used"],
             o.summary["gradients_computed"], o.summary["communications"], o.summary["time"],
             round(o.wall_seconds, 2)] for o in outcomes]
    print(format_table(headers, rows))
