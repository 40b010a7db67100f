"""The architecture diagram: well-formed SVG, exactly the active part lit, same bytes each run."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.ui.diagram import PALETTE, Diagram, diagram_svg, render_trace, steps_table
from cqrs_lab.ui.tracer import Component, Tracer

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
PLAYBOOK_LABELS = [
    "Client",
    "Commands API",
    "Queries API",
    "Command Handlers",
    "Query Handlers",
    "Write Model",
    "Read Model",
    "Events",
]


def groups(root: ET.Element) -> dict[str, ET.Element]:
    return {
        g.attrib["data-component"]: g for g in root.iter(f"{SVG}g") if "data-component" in g.attrib
    }


def lit(root: ET.Element) -> list[str]:
    return [name for name, g in groups(root).items() if g.attrib["data-active"] == "true"]


@pytest.mark.parametrize("component", list(Component))
def test_exactly_the_active_component_is_highlighted(component: Component) -> None:
    root = ET.fromstring(Diagram(component, "a caption").to_svg())

    assert lit(root) == [component.value]
    found = groups(root)
    assert sorted(found) == sorted(c.value for c in Component)
    for name, group in found.items():
        fills = {rect.attrib["fill"] for rect in group.iter(f"{SVG}rect")}
        assert (PALETTE["active_fill"] in fills) == (name == component.value), name


def test_nothing_is_highlighted_without_an_active_component() -> None:
    root = ET.fromstring(Diagram().to_svg())
    assert lit(root) == []
    assert PALETTE["active_fill"] not in Diagram().to_svg()


def test_the_svg_is_well_formed_and_labelled_as_in_the_playbook() -> None:
    root = ET.fromstring(diagram_svg(Component.WRITE_MODEL))

    assert root.tag == f"{SVG}svg"
    assert root.attrib["role"] == "img"
    assert root.attrib["width"] == "600"
    texts = [t.text for t in root.iter(f"{SVG}text") if t.text]
    assert sorted(texts) == sorted(PLAYBOOK_LABELS)
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "CQRS architecture: Write Model active"


def test_the_same_diagram_gives_the_same_bytes_and_no_ids() -> None:
    first = Diagram(Component.EVENTS, "3. order_views applied OrderCreated").to_svg()
    again = Diagram(Component("events"), "3. order_views applied OrderCreated").to_svg()

    assert first == again
    assert " id=" not in first
    assert "0x" not in first


def test_the_same_bytes_in_another_process() -> None:
    code = (
        "from cqrs_lab.ui.diagram import diagram_svg; "
        "import sys; sys.stdout.write(diagram_svg('read_model', 'row changed: a -> b'))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
        for _ in range(2)
    }
    assert outputs == {diagram_svg("read_model", "row changed: a -> b")}


def test_attributes_are_written_in_sorted_order() -> None:
    svg = Diagram(Component.CLIENT, "caption").to_svg()
    for tag in re.findall(r"<[a-z]+((?: [a-z:-]+=\"[^\"]*\")+)/?>", svg, flags=re.IGNORECASE):
        names = re.findall(r' ([A-Za-z:-]+)="', tag)
        assert names == sorted(names), tag


def test_the_caption_is_escaped_and_wrapped() -> None:
    caption = "CountOf answered: <None> & 'quotes' \"too\" " + "word " * 30
    root = ET.fromstring(Diagram(Component.QUERY_HANDLERS, caption).to_svg())

    lines = [span.text or "" for span in root.iter(f"{SVG}tspan")]
    assert len(lines) >= 2
    assert lines[0].startswith("CountOf answered: <None> & 'quotes' \"too\"")
    assert all(len(line) <= 76 for line in lines)
    height = int(root.attrib["height"])
    assert height == int(ET.fromstring(Diagram(None, caption).to_svg()).attrib["height"])


def test_a_very_long_caption_is_cut_to_four_lines() -> None:
    root = ET.fromstring(diagram_svg(caption="x " * 400))
    lines = [span.text or "" for span in root.iter(f"{SVG}tspan")]
    assert len(lines) == 4
    assert lines[-1].endswith("…")


def test_an_unknown_component_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgumentError, match=r"one of client, commands_api.*found 'db'"):
        Diagram("db")  # type: ignore[arg-type]


def test_it_has_a_stable_repr() -> None:
    diagram = Diagram(Component.READ_MODEL, "row changed")
    assert repr(diagram) == "Diagram(active='read_model', caption='row changed')"


def test_for_step_lights_the_steps_component_with_its_description() -> None:
    tracer = Tracer()
    step = tracer.note("Client sends AddTags")
    diagram = Diagram.for_step(step)
    assert diagram == Diagram(Component.CLIENT, "1. Client sends AddTags")
    assert Diagram.for_step(None) == Diagram()


# -- render_trace -------------------------------------------------------------------------------


def traced() -> Tracer:
    tracer = Tracer()
    tracer.note("Client sends <AddTags>")
    tracer.note("Commands API receives it", Component.COMMANDS_API)
    tracer.note("Row a inserted", Component.READ_MODEL)
    return tracer


def svg_of(image: ET.Element) -> ET.Element:
    """The SVG inside an ``<img>``'s data URI."""
    prefix = "data:image/svg+xml;base64,"
    assert image.attrib["src"].startswith(prefix)
    return ET.fromstring(base64.b64decode(image.attrib["src"][len(prefix) :]))


def test_render_trace_is_a_table_of_steps_beside_the_latest_steps_diagram() -> None:
    view = render_trace(traced())
    root = ET.fromstring(view.html)  # our HTML is well-formed XML too

    rows = root.findall(".//tbody/tr")
    assert [row.attrib["data-seq"] for row in rows] == ["1", "2", "3"]
    assert [row.get("aria-current") for row in rows] == [None, None, "step"]
    assert rows[0].findall("td")[3].text == "Client sends <AddTags>"
    assert not list(root.iter(f"{SVG}svg")), "inline SVG is dropped by an untrusted notebook"
    (image,) = root.iter("img")
    assert lit(svg_of(image)) == ["read_model"]
    assert "Read Model active" in image.attrib["alt"]
    assert view._repr_html_() == view.html
    assert repr(view) == "TraceView(steps=3, active='read_model')"


def test_render_trace_is_the_same_on_every_run_and_can_show_only_the_latest() -> None:
    assert render_trace(traced()).html == render_trace(traced()).html
    root = ET.fromstring(render_trace(traced(), limit=2).html)
    assert [row.attrib["data-seq"] for row in root.findall(".//tbody/tr")] == ["2", "3"]
    with pytest.raises(InvalidArgumentError, match="limit must be >= 1"):
        render_trace(traced(), limit=0)


def test_render_trace_of_nothing_says_so() -> None:
    view = render_trace(Tracer())
    assert "No steps recorded yet." in view.html
    assert view.active is None
    assert steps_table([]).count("<tr") == 1  # the header only


def test_importing_the_diagram_imports_neither_widgets_nor_matplotlib_nor_pandas() -> None:
    code = (
        "import sys, cqrs_lab.ui.diagram; "
        "print(sorted(m for m in ('pandas', 'ipywidgets', 'matplotlib') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


# -- how a diagram displays -------------------------------------------------------------------


def test_a_diagram_displays_as_a_png_beside_its_svg_at_the_svgs_size() -> None:
    diagram = Diagram(Component.QUERY_HANDLERS, "03 · a query")
    data, metadata = diagram._repr_mimebundle_()

    # untrusted JupyterLab and every notebook viewer show the PNG; nbval compares the SVG
    png = base64.b64decode(data["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert data["image/svg+xml"] == diagram.to_svg()
    assert data["text/plain"] == repr(diagram)
    root = ET.fromstring(diagram.to_svg())
    size = {"width": int(root.attrib["width"]), "height": int(root.attrib["height"])}
    assert metadata == {"image/png": size}
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (2 * size["width"], 2 * size["height"])


def test_the_png_differs_with_the_active_part_and_is_the_same_for_the_same_diagram() -> None:
    assert Diagram(Component.EVENTS).to_png() == Diagram(Component.EVENTS).to_png()
    assert Diagram(Component.EVENTS).to_png() != Diagram(Component.CLIENT).to_png()
    assert Diagram(Component.EVENTS).to_png() != Diagram(Component.EVENTS, "a caption").to_png()


def test_a_diagrams_html_is_an_image_of_its_svg() -> None:
    diagram = Diagram(Component.READ_MODEL, "rows changed")
    image = ET.fromstring(diagram.to_html())
    assert image.tag == "img"
    assert ET.tostring(svg_of(image)) == ET.tostring(ET.fromstring(diagram.to_svg()))
