"""A small bar chart as a PNG, drawn with Pillow (the `bench` extra): no plotting stack needed."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT, MARGIN = 760, 420, 60
BAR, REFERENCE, INK, GRID = (46, 110, 180), (170, 170, 170), (30, 30, 30), (225, 225, 225)


def bar_chart(path: Path, title: str, bars: list[tuple[str, float]], references: list[tuple[str, float]] = ()) -> None:
    """`bars` as blue bars; `references` (e.g. the bare endpoint) as grey bars on the right."""
    items = [(label, value, BAR) for label, value in bars] + [(label, value, REFERENCE) for label, value in references]
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=16), ImageFont.load_default(size=13)
    draw.text((MARGIN, 18), title, fill=INK, font=font)
    top, bottom, left, right = 60, HEIGHT - MARGIN, MARGIN + 20, WIDTH - 20
    highest = max(value for _, value, _ in items) * 1.15 or 1
    step = _nice_step(highest / 5)
    tick = 0.0
    while tick <= highest:
        y = bottom - (bottom - top) * tick / highest
        draw.line([(left, y), (right, y)], fill=GRID)
        draw.text((8, y - 8), f"{tick:,.0f}", fill=INK, font=small)
        tick += step
    slot = (right - left) / len(items)
    for i, (label, value, colour) in enumerate(items):
        x0 = left + i * slot + slot * 0.2
        x1 = left + (i + 1) * slot - slot * 0.2
        y = bottom - (bottom - top) * value / highest
        draw.rectangle([x0, y, x1, bottom], fill=colour)
        draw.text(((x0 + x1) / 2, y - 4), f"{value:,.0f}", fill=INK, font=small, anchor="mb")
        draw.text(((x0 + x1) / 2, bottom + 8), label, fill=INK, font=small, anchor="mt")
    draw.line([(left, bottom), (right, bottom)], fill=INK)
    image.save(path, optimize=True)


def _nice_step(raw: float) -> float:
    magnitude = 10 ** len(str(int(max(raw, 1)))) / 10
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude
