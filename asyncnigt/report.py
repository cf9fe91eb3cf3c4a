"""The end-of-run table on the terminal."""

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


def print_table(outcomes, scenario) -> None:
    target_keys = sorted({k for o in outcomes for k in o.summary if k.startswith("time_to_")})
    headers = ["method", *(k.replace("time_to_", "t→") for k in target_keys), "final objective",
               "final ‖∇‖", "grads used", "grads computed", "comms", "virtual time", "wall s"]
    rows = [[o.label, *(o.summary[k] for k in target_keys), o.summary["final_objective"],
             o.summary["final_grad_norm"], o.summary["gradients_used"],
             o.summary["gradients_computed"], o.summary["communications"], o.summary["time"],
             round(o.wall_seconds, 2)] for o in outcomes]
    print(format_table(headers, rows))
