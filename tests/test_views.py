"""Charts that stay legible with many methods."""
import numpy as np

from ui import views


def test_twenty_methods_get_horizontal_bars_sorted_best_first_with_every_full_name():
    rng = np.random.default_rng(0)
    names = [f"a rather long method name number {i}" for i in range(20)]
    values = dict(zip(names, rng.uniform(22, 30, 20)))
    fig = views.bars(values, title="PSNR (dB)", higher_is_better=True, fmt=".2f", reference=("noisy input", 20.2))
    bar = fig.data[0]
    assert bar.orientation == "h" and set(bar.y) == set(names)  # every name, in full
    assert list(bar.x) == sorted(values.values(), reverse=True)  # the best first
    assert bar.marker.color[0] != bar.marker.color[1] and len(set(bar.marker.color[1:])) == 1  # only it highlighted
    assert [shape.x0 for shape in fig.layout.shapes] == [20.2]  # the noisy input as a reference line
    assert fig.layout.height >= 20 * 24  # a row per method, not squeezed into a fixed height
    low, high = fig.layout.xaxis.range
    assert 15 < low < 20.2 and high > max(values.values())  # not from zero: tenths of a dB stay visible


def test_lower_is_better_puts_the_smallest_first_and_starts_at_zero():
    fig = views.bars({"slow": 14.0, "fast": 0.2, "middle": 3.0}, title="seconds", higher_is_better=False)
    assert list(fig.data[0].y) == ["fast", "middle", "slow"]
    assert fig.layout.xaxis.range[0] == 0.0


def test_a_colour_bar_runs_from_the_first_to_the_last_colour_of_its_scale():
    bar = views.colour_bar(0.0, 38.25, "/255")
    strip = bar[8, 40:520]  # the coloured strip, left to right
    assert tuple(strip[0]) == tuple(views.heat(np.zeros((1, 1)), 1.0)[0, 0])  # 0: black of inferno
    assert tuple(strip[-1]) == tuple(views.heat(np.ones((1, 1)), 1.0)[0, 0])  # the top of the scale
    gray = views.colour_bar(-170, 170, "HU", signed_gray=True)[8, 40:520]
    assert tuple(gray[0]) == (0, 0, 0) and tuple(gray[-1]) == (255, 255, 255) and abs(int(gray[240, 0]) - 128) <= 1
    assert (bar[22:, :] < 128).any()  # labels are drawn under the strip


def test_the_line_profile_s_row_is_marked_on_the_image():
    marked = views.mark_row(np.zeros((20, 30), np.uint8), 7)
    assert marked.shape == (20, 30, 3) and (marked[6:9] == (255, 64, 64)).all() and not marked[:6].any()


def test_a_box_dragged_on_the_image_becomes_a_region_inside_it():
    drag = {"selection": {"box": [{"x": [10.2, 40.7], "y": [60.4, 20.1]}]}}  # pixel centres at integers
    assert views.selected_box(drag, (100, 80)) == views.Box(top=21, left=11, height=40, width=30)
    outside = {"selection": {"box": [{"x": [-30, 200], "y": [95, 300]}]}}
    assert views.selected_box(outside, (100, 80)) == views.Box(top=96, left=0, height=4, width=80)
    assert views.selected_box({"selection": {"box": []}}, (100, 80)) is None and views.selected_box(None, (9, 9)) is None
    fig = views.image_figure(np.zeros((100, 80), np.uint8))
    assert fig.layout.dragmode == "select" and tuple(fig.layout.yaxis.range) == (99.5, -0.5)  # rows run downwards
