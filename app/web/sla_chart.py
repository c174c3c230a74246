"""The SLA dashboard's daily trend as server-rendered SVG geometry (no script, no CDN)."""
from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 16, 34


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    first_response_line: str  # SVG polyline points
    resolution_line: str
    first_response_points: list[tuple[float, float, str]]  # (x, y, tooltip): a marker per day with data
    resolution_points: list[tuple[float, float, str]]
    y_ticks: list[tuple[float, str]]  # (y, "50 %")
    breach_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    plot: tuple[float, float, float, float]  # left, top, right, bottom


def trend_chart(days) -> Chart:
    """Bars: breaches per day (right axis); lines: first-response and resolution attainment (left axis)."""
    n = max(1, len(days))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / n
    most = max([d.breaches for d in days] + [1])

    def y_pct(value: float) -> float:
        return round(TOP + plot_h * (1 - value / 100), 1)

    bars, fr, res, fr_points, res_points = [], [], [], [], []
    for i, day in enumerate(days):
        cx = LEFT + step * (i + 0.5)
        h = plot_h * day.breaches / most
        bars.append(Bar(round(cx - step * 0.3, 1), round(TOP + plot_h - h, 1), round(step * 0.6, 1), round(h, 1),
                        f"{day.day:%d %b}: {day.breaches} breach{'es' if day.breaches != 1 else ''}"))
        if day.first_response_pct is not None:
            fr.append(f"{cx:.1f},{y_pct(day.first_response_pct)}")
            fr_points.append((round(cx, 1), y_pct(day.first_response_pct),
                              f"{day.day:%d %b}: first response met {day.first_response_pct} %"))
        if day.resolution_pct is not None:
            res.append(f"{cx:.1f},{y_pct(day.resolution_pct)}")
            res_points.append((round(cx, 1), y_pct(day.resolution_pct),
                               f"{day.day:%d %b}: resolution met {day.resolution_pct} %"))
    every = max(1, n // 8)
    x_labels = [(round(LEFT + step * (i + 0.5), 1), f"{d.day:%d %b}") for i, d in enumerate(days) if i % every == 0]
    return Chart(
        width=WIDTH, height=HEIGHT, bars=bars, first_response_line=" ".join(fr), resolution_line=" ".join(res),
        first_response_points=fr_points, resolution_points=res_points,
        y_ticks=[(y_pct(v), f"{v} %") for v in (0, 50, 100)],
        breach_ticks=[(round(TOP + plot_h * (1 - v / most), 1), str(v)) for v in sorted({0, most})],
        x_labels=x_labels, plot=(LEFT, TOP, WIDTH - RIGHT, TOP + plot_h),
    )
