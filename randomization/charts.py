"""Geometry of the server-rendered balance chart (SVG, no JavaScript). Pure Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PALETTE = ("#0b5cad", "#c2571a", "#1e7b34", "#7a3ea8", "#a15c00", "#44546a")
LABEL_WIDTH = 170
BAR_HEIGHT = 14
GROUP_GAP = 10
PLOT_WIDTH = 420


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    colour: str
    label: str
    value: int
    # Where the count the allocation ratio expects for the group ends (a marker line).
    target_x: int | None = None
    expected: float | None = None


@dataclass(frozen=True)
class GroupLabel:
    y: int
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[GroupLabel]
    legend: list[tuple[str, str]]


def grouped_bars(
    groups: Sequence[tuple[str, dict[str, int], dict[str, float]]],
    arms: Sequence[tuple[str, str]],
) -> Chart:
    """One group per row label, one bar per arm, widths proportional to the largest count or
    expected count; each bar carries a marker where its expected count (the allocation ratio
    applied to the group's total) ends, so a deviation from the target shows as a gap."""
    largest = max(
        [n for _, counts, _ in groups for n in counts.values()]
        + [e for _, _, expected in groups for e in expected.values()]
        + [1]
    )
    bars: list[Bar] = []
    labels: list[GroupLabel] = []
    y = 20
    for label, counts, expected in groups:
        labels.append(GroupLabel(y + BAR_HEIGHT * len(arms) // 2 + 4, label))
        for index, (code, _) in enumerate(arms):
            value = counts.get(code, 0)
            width = round(PLOT_WIDTH * value / largest)
            bars.append(
                Bar(
                    LABEL_WIDTH,
                    y,
                    width,
                    BAR_HEIGHT - 2,
                    PALETTE[index % len(PALETTE)],
                    code,
                    value,
                    LABEL_WIDTH + round(PLOT_WIDTH * expected[code] / largest)
                    if code in expected
                    else None,
                    expected.get(code),
                )
            )
            y += BAR_HEIGHT
        y += GROUP_GAP
    legend = [
        (PALETTE[i % len(PALETTE)], f"{code} — {name}") for i, (code, name) in enumerate(arms)
    ]
    return Chart(LABEL_WIDTH + PLOT_WIDTH + 60, y + 10, bars, labels, legend)
