"""Per-worker timeline (Gantt chart) of the first updates, from ``events.jsonl``.

One panel per method that recorded events (``output: {events: N}``), one row per worker
(worker 0 on top), one bar per interval, coloured by kind: computations used in an
update, discarded (finished but not used) or cancelled (stopped at the end of a round),
and communications (download, upload, aggregation; a message is shown with its
computation only, see :func:`complete_jobs`). Dashed vertical lines mark the virtual
times at which updates were applied. Written as ``timeline.png``.
"""

from __future__ import annotations

from .data import RunData
from .figure import KIND_COLORS, new_figure, save

MAX_WORKERS = 40
MAX_UPDATE_LINES = 60


def timeline_figure(run: RunData):
    panels = [(label, ev) for label in run.labels if (ev := run.events(label))]
    if not panels:
        return None
    n = 1 + max(e["worker"] for _, ev in panels for e in ev)
    shown = min(n, MAX_WORKERS)
    height = 1.2 + 0.22 * shown
    fig, axes = new_figure(len(panels), 1, size=(11, height * len(panels)))
    for ax, (label, events) in zip(axes[:, 0], panels, strict=True):
        _panel(ax, run, label, events, shown)
    handles = _legend_handles({e["kind"] for _, ev in panels for e in ev})
    axes[0, 0].legend(handles=handles, ncol=len(handles), fontsize="small", loc="lower left",
                      bbox_to_anchor=(0, 1.02), frameon=False)
    more = f" (workers 0-{shown - 1} of {n})" if shown < n else ""
    fig.suptitle(f"{run.title}: worker timeline of the first updates{more}")
    return fig


def complete_jobs(events: list[dict]) -> list[dict]:
    """Drop the messages whose computation is not in the trace.

    Stream methods record a computation when its gradient is applied, so within the
    first N updates a worker may show the upload of a gradient applied later, without
    its computation. A download is kept when a computation of the same worker starts at
    its end, an upload when one ends at its start.
    """
    computing = [e for e in events if e["kind"] in ("used", "discarded", "cancelled")]
    starts = {(e["worker"], e["start"]) for e in computing}
    ends = {(e["worker"], e["end"]) for e in computing}
    keep = []
    for e in events:
        if e["kind"] == "download" and (e["worker"], e["end"]) not in starts:
            continue
        if e["kind"] == "upload" and (e["worker"], e["start"]) not in ends:
            continue
        keep.append(e)
    return keep


def _panel(ax, run, label, events, shown):
    updates = 1 + max(e["update"] for e in events)
    events = complete_jobs(events)
    by_kind: dict[tuple[int, str], list] = {}
    for e in events:
        if e["worker"] < shown:
            span = (e["start"], e["end"] - e["start"])
            by_kind.setdefault((e["worker"], e["kind"]), []).append(span)
    for (worker, kind), spans in sorted(by_kind.items()):
        comm = kind in ("download", "upload", "aggregate")
        y = (worker + 0.05, 0.4) if comm else (worker - 0.4, 0.75)
        ax.broken_barh(spans, y, facecolors=KIND_COLORS.get(kind, "0.5"), edgecolor="white", lw=0.3)
    times = [r["time"] for r in run.metrics(label) if 1 <= r["update"] <= updates]
    for t in times[:MAX_UPDATE_LINES]:
        ax.axvline(t, color="0.3", lw=0.6, ls="--")
    end = max(max(e["end"] for e in events), *(times or [0.0]))
    ax.set_xlim(0, end * 1.01 if end > 0 else 1)
    ax.set_ylim(shown - 0.5, -0.5)
    ax.set_yticks(range(shown) if shown <= 20 else range(0, shown, 5))
    ax.set_ylabel("worker")
    ax.set_title(f"{label}: first {updates} updates", fontsize="medium", loc="right")
    ax.set_xlabel("virtual time [s]")
    ax.grid(axis="x", alpha=0.3)


def _legend_handles(kinds):
    from matplotlib.patches import Patch

    return [Patch(color=c, label=k) for k, c in KIND_COLORS.items() if k in kinds]


def plot_timeline(run: RunData) -> list:
    fig = timeline_figure(run)
    return [] if fig is None else [save(fig, run.path / "timeline.png")]
