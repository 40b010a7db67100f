"""The step-through player, driven as a student would: Next, Reset, Play -- without a browser."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.examples.orders import CreateOrder, OrderLine, ShipOrder
from cqrs_lab.examples.orders.queries import GetOrderById
from cqrs_lab.messages import Command
from cqrs_lab.ui.player import PROJECT, PlayerParts, ProjectStep, StepPlayer, order_parts
from cqrs_lab.ui.tracer import Component, StepKind

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
TEA = (OrderLine(product_id="tea", quantity=2, price=3.5),)

CREATE = CreateOrder(customer_id="ada", items=TEA)
SHIP = ShipOrder(order_id="order-0001")
GET = GetOrderById(order_id="order-0001")


def lit(svg: str) -> list[str]:
    """The components highlighted in a diagram's SVG."""
    root = ET.fromstring(svg)
    return [
        g.attrib["data-component"]
        for g in root.iter(f"{SVG}g")
        if g.attrib.get("data-active") == "true"
    ]


def test_next_reveals_one_step_at_a_time_along_the_diagram() -> None:
    player = StepPlayer([CREATE, GET])

    components = []
    while (step := player.next()) is not None:
        components.append(step.component)

    assert components == [
        Component.CLIENT,
        Component.COMMANDS_API,
        Component.COMMAND_HANDLERS,
        Component.WRITE_MODEL,
        Component.EVENTS,
        Component.READ_MODEL,
        Component.CLIENT,
        Component.QUERIES_API,
        Component.QUERY_HANDLERS,
    ]
    assert player.total == 9
    assert player.finished
    assert player.next() is None  # past the end, nothing changes
    assert player.state().index == 9


def test_the_log_shows_an_event_only_from_the_step_that_appends_it() -> None:
    player = StepPlayer([CREATE])
    widgets = player.widgets
    for _ in range(3):  # client sends, received, handled
        widgets.next_button.click()
    assert player.state().log == ()
    assert "no events yet" in widgets.log.value

    widgets.next_button.click()  # event appended

    assert player.state().log == ((1, "order-0001", 1, "OrderCreated"),)
    assert "OrderCreated" in widgets.log.value
    assert "order_id='order-0001', customer_id='ada'" in widgets.log.value
    assert lit(widgets.diagram.value) == ["write_model"]


def test_the_read_model_lags_the_log_until_the_projectors_step() -> None:
    player = StepPlayer([CREATE])
    widgets = player.widgets
    player.seek(4)  # the event is in the log

    assert player.state().checkpoints == {"order_views": 0}
    assert player.state().rows == {"order_views": {}}
    assert "no rows yet" in widgets.read_model.value
    assert player.checkpoints_frame().loc["order_views", "behind"] == 1

    widgets.next_button.click()  # the projector applies it
    assert lit(widgets.diagram.value) == ["events"]
    assert player.state().checkpoints == {"order_views": 1}
    assert player.checkpoints_frame().loc["order_views", "behind"] == 0

    widgets.next_button.click()  # ... and the row it changed
    assert lit(widgets.diagram.value) == ["read_model"]
    assert list(player.state().rows["order_views"]) == ["order-0001"]
    assert "order-0001" in widgets.read_model.value
    assert "ada" in widgets.read_model.value


def test_without_auto_project_a_query_reads_stale_until_the_projector_steps() -> None:
    player = StepPlayer([CREATE, GET, PROJECT, GET], auto_project=False)
    player.run_to_end()

    answers = [s.detail for s in player.shown if s.kind is StepKind.QUERY_ANSWERED]
    assert answers[0] == "not found (None)"
    assert answers[1].startswith("OrderView(order_id='order-0001', customer_id='ada'")
    kinds = [s.kind for s in player.shown]
    assert kinds.index(StepKind.PROJECTOR_APPLIED) > kinds.index(StepKind.QUERY_ANSWERED)


def test_a_rejected_command_shows_the_handlers_error_and_the_play_goes_on() -> None:
    player = StepPlayer([CREATE, SHIP, SHIP, GET])
    player.run_to_end()

    errors = [s for s in player.shown if s.outcome == "error"]
    assert len(errors) == 1
    assert errors[0].component is Component.COMMAND_HANDLERS
    assert "cannot ship order 'order-0001': it is shipped" in errors[0].description
    assert player.shown[-1].kind is StepKind.QUERY_ANSWERED
    assert "status='shipped'" in player.shown[-1].detail


def test_reset_starts_again_from_an_empty_system() -> None:
    player = StepPlayer([CREATE, GET])
    widgets = player.widgets
    for _ in range(6):
        widgets.next_button.click()
    widgets.reset_button.click()

    state = player.state()
    assert (state.index, state.step, state.active, state.log) == (0, None, None, ())
    assert state.checkpoints == {"order_views": 0}
    assert lit(widgets.diagram.value) == []
    assert "Press Next" in widgets.status.value
    assert widgets.play.value == 0

    widgets.next_button.click()
    widgets.next_button.click()
    assert "CreateOrder received (cmd-0001)" in widgets.status.value  # ids start over too


def test_next_is_disabled_at_the_end() -> None:
    player = StepPlayer([GET])
    widgets = player.widgets
    for _ in range(3):
        assert not widgets.next_button.disabled
        widgets.next_button.click()
    assert widgets.next_button.disabled
    widgets.next_button.click()  # a click that gets through anyway changes nothing
    assert player.state().index == 3


def test_play_and_the_slider_seek_to_their_value() -> None:
    player = StepPlayer([CREATE, GET])
    widgets = player.widgets
    assert (widgets.play.max, widgets.slider.max) == (9, 9)

    widgets.play.value = 5  # what the browser's Play sends, one value at a time
    assert player.state().index == 5
    assert widgets.slider.value == 5
    assert lit(widgets.diagram.value) == ["events"]

    widgets.slider.value = 2  # dragging back replays from the start
    assert player.state().index == 2
    assert widgets.play.value == 2
    assert "Step 2 of 9: CreateOrder received" in widgets.status.value

    widgets.next_button.click()
    assert (widgets.play.value, widgets.slider.value) == (3, 3)


def test_every_run_shows_the_same() -> None:
    def shown() -> list[tuple[str, ...]]:
        player = StepPlayer([CREATE, GET, SHIP, GET])
        widgets = player.widgets
        frames: list[tuple[str, ...]] = []
        while not player.finished:
            widgets.next_button.click()
            frames.append(
                (
                    widgets.status.value,
                    widgets.diagram.value,
                    widgets.log.value,
                    widgets.checkpoints.value,
                    widgets.read_model.value,
                    widgets.recent.value,
                )
            )
        return frames

    first, second = shown(), shown()
    assert first == second
    assert len(first) == 18
    assert not any("0x" in text for frame in first for text in frame)


def test_state_is_plain_data_about_the_latest_step() -> None:
    player = StepPlayer([CREATE])
    state = player.seek(2)

    assert state.index == 2 and state.total == 6 and not state.finished
    assert state.step is not None and state.step.kind is StepKind.COMMAND_RECEIVED
    assert state.active is Component.COMMANDS_API
    assert state.caption.startswith("Step 2 of 6: CreateOrder received (cmd-0001)")
    assert player.diagram().active is Component.COMMANDS_API


def test_frames_of_the_log_and_read_model() -> None:
    player = StepPlayer([CREATE])
    assert player.log_frame().empty
    player.run_to_end()

    log = player.log_frame()
    assert list(log["event_type"]) == ["OrderCreated"]
    views = player.read_model_frame()
    assert list(views.index) == ["order-0001"]
    assert views.loc["order-0001", "total_amount"] == 7.0
    with pytest.raises(InvalidArgumentError, match="no projector named 'nope'"):
        player.read_model_frame("nope")


def test_a_script_item_that_is_not_a_message_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgumentError, match="item 2 must be a Command, a Query or PROJECT"):
        StepPlayer([CREATE, "ship it"])  # type: ignore[list-item]


def test_project_naming_an_unknown_projection_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgumentError, match="no projector named 'nope'"):
        StepPlayer([CREATE, ProjectStep(projection="nope")], auto_project=False)


def test_seek_rejects_a_negative_index() -> None:
    with pytest.raises(InvalidArgumentError, match="index must be >= 0, found -1"):
        StepPlayer([GET]).seek(-1)


def test_a_projector_running_live_is_stopped_so_steps_are_manual() -> None:
    started: list[PlayerParts] = []

    def build() -> PlayerParts:
        parts = order_parts()
        for projector in parts.projectors:
            projector.start()
        started.append(parts)
        return parts

    player = StepPlayer([CREATE], build=build)
    assert all(not p.running for parts in started for p in parts.projectors)
    player.seek(4)
    assert player.state().checkpoints == {"order_views": 0}


def test_it_displays_as_its_widget_with_a_stable_text() -> None:
    player = StepPlayer([GET])
    bundle = player._repr_mimebundle_()
    assert bundle["text/plain"] == "StepPlayer(step 0 of 3)"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert player.widget() is player.widget()


def test_importing_the_player_imports_no_widgets_until_they_are_asked_for() -> None:
    code = (
        "import sys, cqrs_lab.ui.player as p; "
        "print('ipywidgets' in sys.modules, 'matplotlib' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "False False", result.stderr


def test_a_command_of_another_domain_is_recorded_as_an_error_not_a_crash() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True, kw_only=True)
    class Unknown(Command):
        pass

    player = StepPlayer([Unknown(), GET])
    player.run_to_end()
    assert player.shown[2].outcome == "error"
    assert "HandlerNotFoundError" in player.shown[2].detail


def test_view_tabulates_only_the_steps_shown() -> None:
    player = StepPlayer([CREATE])
    player.seek(3)
    view = player.view()
    assert view.steps == 3
    assert view.active is Component.COMMAND_HANDLERS
    assert view.html.count(" data-seq=") == 3


# -- what the browser sees --------------------------------------------------------------------


def test_play_and_the_slider_are_not_linked_in_the_browser() -> None:
    # A browser-side link sends each value the kernel sets back a moment later; by then the
    # kernel may have moved on, and the echo would rewind the player. The kernel moves both.
    from ipywidgets.widgets.widget import _instances
    from ipywidgets.widgets.widget_link import Link

    player = StepPlayer([CREATE, GET])
    widgets = player.widgets
    ours = {id(widgets.play), id(widgets.slider)}
    links = [
        w
        for w in _instances.values()
        if isinstance(w, Link) and {id(w.source[0]), id(w.target[0])} & ours
    ]
    assert links == []

    for _ in range(7):
        player.next()
    assert (widgets.play.value, widgets.slider.value) == (7, 7)
    assert player.state().index == 7


def test_a_value_from_the_browser_moves_the_player_through_the_widget_protocol() -> None:
    player = StepPlayer([CREATE, GET])
    widgets = player.widgets
    widgets.slider.set_state({"value": 4})  # how a comm message from the browser arrives
    assert player.state().index == 4
    assert widgets.play.value == 4


def test_where_widgets_cannot_run_the_player_shows_a_still_picture_and_says_to_run_it() -> None:
    player = StepPlayer([CREATE, GET])
    player.seek(3)
    bundle = player._repr_mimebundle_()

    html = bundle["text/html"]
    root = ET.fromstring(html)
    assert "Run this cell" in html
    assert "Step 3 of 9" in html
    assert not list(root.iter(f"{SVG}svg")), "inline SVG is dropped by an untrusted notebook"
    (image,) = root.iter("img")
    assert image.attrib["src"].startswith("data:image/svg+xml;base64,")
    assert html == _html_after(3)  # the same on every run: nbval compares it


def _html_after(steps: int) -> str:
    player = StepPlayer([CREATE, GET])
    player.seek(steps)
    html: str = player._repr_mimebundle_()["text/html"]
    return html


def test_the_tables_have_ruled_padded_cells_and_a_header_per_column() -> None:
    player = StepPlayer([CREATE])
    player.run_to_end()
    root = ET.fromstring(player.widgets.checkpoints.value.split("</h4>", 1)[1])

    headers = [th.text for th in root.iter("th")]
    assert headers[:4] == ["projection", "checkpoint", "log head", "behind"]
    assert all("padding" in cell.attrib["style"] for cell in root.iter("td"))
    assert [td.text for td in root.iter("td")] == ["1", "1", "0"]
