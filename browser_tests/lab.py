"""JupyterLab in a Playwright page: open a notebook, run cells, read what each output shows.

Everything is read from the page itself (the DOM and ``window.jupyterapp``, which the server
exposes for tests), so a check sees what a reader would see.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from playwright.sync_api import Page

RUN_SECONDS = 600
"""The longest a notebook may take to run all its cells."""

# For each code cell: what the model stores and what the page renders, output by output.
_CELLS_JS = """
() => {
  const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    if (model.type !== 'code') return {index, type: model.type, outputs: []};
    const nodes = Array.from(cell.node.querySelectorAll('.jp-OutputArea-output'));
    const outputs = [];
    for (let i = 0; i < model.outputs.length; i++) {
      const out = model.outputs.get(i);
      const node = nodes[i];
      const images = node ? Array.from(node.querySelectorAll('img')) : [];
      outputs.push({
        type: out.type,
        mimes: Object.keys(out.data),
        html: String(out.data['text/html'] || ''),
        // a widget's renderer sets no data-mime-type: it is known by its views
        rendered: !node ? null : node.getAttribute('data-mime-type')
          || (node.querySelector('.jupyter-widgets') ? WIDGET_MIME : null),
        text: node ? node.innerText : '',
        svgs: node ? node.querySelectorAll('svg').length : 0,
        images: images.map(img => ({loaded: img.complete && img.naturalWidth > 0,
                                    src: img.src.slice(0, 40)})),
        widgets: node ? node.querySelectorAll('.jupyter-widgets').length : 0,
      });
    }
    return {index, type: 'code', count: model.executionCount, outputs};
  });
}
"""


class Lab:
    """One JupyterLab page; ``open`` a notebook, then run and inspect it."""

    def __init__(self, page: Page, url: str, token: str) -> None:
        self.page = page
        self.url = url
        self.token = token

    def open(self, notebook: str) -> None:
        """Open ``notebook`` (a path under the served folder) with a fresh workspace."""
        self.page.goto(f"{self.url}/lab/tree/{notebook}?token={self.token}&reset")
        self.page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.content"
            " && window.jupyterapp.shell.currentWidget.content.widgets.length > 0"
            " && window.jupyterapp.shell.currentWidget.context.isReady"
        )
        # widgets and images render asynchronously after the cells appear
        self.page.wait_for_load_state("networkidle")
        self.wait_for_kernel()

    def wait_for_kernel(self) -> None:
        """Wait until the notebook's kernel is idle."""
        self.page.wait_for_function(
            "() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
            " return s.session && s.session.kernel && s.session.kernel.status === 'idle'; }",
            timeout=RUN_SECONDS * 1000,
        )

    def cells(self) -> list[dict[str, Any]]:
        """Each cell: its type, execution count and outputs (model and rendered view)."""
        cells: list[dict[str, Any]] = self.page.evaluate(_CELLS_JS)
        return cells

    def run_all(self) -> None:
        """Run every cell, and wait until the last has finished."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        self.wait_for_kernel()

    def run_cell(self, index: int) -> None:
        """Run the cell at ``index`` and wait until it has finished."""
        self.page.evaluate(
            """async (index) => {
                 const panel = window.jupyterapp.shell.currentWidget;
                 panel.content.activeCellIndex = index;
                 await window.jupyterapp.commands.execute('notebook:run-cell');
               }""",
            index,
        )
        self.wait_for_kernel()

    def kernel_output(self, code: str) -> str:
        """Run ``code`` in the notebook's kernel (not in a cell) and return what it printed."""
        text: str = self.page.evaluate(
            """async (code) => {
                 const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
                 const future = kernel.requestExecute({code, store_history: false});
                 let text = '';
                 future.onIOPub = (msg) => {
                   if (msg.header.msg_type === 'stream') text += msg.content.text;
                   if (msg.header.msg_type === 'error') text += msg.content.ename + ': '
                     + msg.content.evalue;
                 };
                 await future.done;
                 return text;
               }""",
            code,
        )
        return text

    def shutdown(self) -> None:
        """Shut down every kernel session of the server (each test starts afresh)."""
        headers = {"Authorization": f"token {self.token}"}
        request = urllib.request.Request(f"{self.url}/api/sessions", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            sessions = json.load(response)
        for session in sessions:
            delete = urllib.request.Request(
                f"{self.url}/api/sessions/{session['id']}", headers=headers, method="DELETE"
            )
            with urllib.request.urlopen(delete, timeout=30):
                pass
