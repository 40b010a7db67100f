"""Drawing and dashboards for notebooks: the tracer, the architecture diagram, charts and widgets.

Nothing is imported here, so ``import cqrs_lab.ui`` pulls in neither ipywidgets nor matplotlib;
import the module you need:

- :mod:`cqrs_lab.ui.tracer` -- every pipeline step recorded as data (``Tracer``), with
  :mod:`~cqrs_lab.ui.trace` (``TraceStep``, ``Component``) and :mod:`~cqrs_lab.ui.trace_text`;
- :mod:`cqrs_lab.ui.diagram` -- the architecture diagram (``Diagram``);
- :mod:`cqrs_lab.ui.player` -- the step-through player (ipywidgets);
- :mod:`cqrs_lab.ui.charts` -- matplotlib charts of a simulation's DataFrames (a sweep's in
  :mod:`~cqrs_lab.ui.sweep_charts`);
- :mod:`cqrs_lab.ui.lag_explorer` -- sliders over a simulation's knobs (ipywidgets).
"""
