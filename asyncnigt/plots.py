"""Plots of a run directory (placeholder until the plotting module lands)."""


def plot_run(out) -> None:
    return None
