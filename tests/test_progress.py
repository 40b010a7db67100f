"""Progress bars: the text one for terminals and the widget one for notebooks."""

from __future__ import annotations

import io

import pytest

from cqrs_lab import InMemoryEventStore, InvalidArgumentError, ManualClock, Projector
from cqrs_lab.examples.orders import CreateOrder, OrderLine, OrderViewProjection, build_order_system
from cqrs_lab.progress import TextProgressBar
from cqrs_lab.ui.progress import WidgetProgressBar


def test_text_bar_redraws_only_when_the_percentage_changes() -> None:
    out = io.StringIO()
    bar = TextProgressBar(out, label="simulating", unit=" s", width=4)
    bar(0.1, 100.0)
    bar(0.2, 100.0)
    bar(100.0, 100.0)
    bar.close()
    assert out.getvalue() == (
        "\rsimulating [....]   0%  0.1/100 s\rsimulating [####] 100%  100/100 s\n"
    )


def test_text_bar_without_drawing_writes_nothing_on_close() -> None:
    out = io.StringIO()
    TextProgressBar(out).close()
    assert out.getvalue() == ""


def test_text_bar_rejects_a_zero_width() -> None:
    with pytest.raises(InvalidArgumentError, match="width must be >= 1, found 0"):
        TextProgressBar(io.StringIO(), width=0)


def test_widget_bar_follows_a_rebuild_to_the_end() -> None:
    system = build_order_system()
    line = (OrderLine(product_id="tea", quantity=1, price=2.0),)
    for customer in ("a", "b", "c"):
        system.commands.dispatch(CreateOrder(customer_id=customer, items=line))
    store: InMemoryEventStore = system.store
    projector = Projector(store, OrderViewProjection(), clock=ManualClock(), batch_size=1)
    bar = WidgetProgressBar("rebuild")

    projector.rebuild("in_place", progress=bar)

    assert (bar.bar.value, bar.bar.max) == (3, 3)
    assert bar.text.value == "3 / 3 (100%)"
