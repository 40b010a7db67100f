"""Drawing and dashboards for notebooks: the tracer, the architecture diagram, charts and widgets.

Nothing is imported here, so ``import cqrs_lab.ui`` pulls in neither ipywidgets nor matplotlib;
import the module you need:

- :mod:`cqrs_lab.ui.tracer` -- every pipeline step recorded as data (``Tracer``), with
  :mod:`~cqrs_lab.ui.trace` (``TraceStep``, ``Component``) and :mod:`~cqrs_lab.ui.trace_text`;
- :mod:`cqrs_lab.ui.diagram` -- the architecture diagram (``Diagram``) and traces beside it;
  :mod:`cqrs_lab.ui.architecture` draws it as SVG, :mod:`cqrs_lab.ui.architecture_png` as PNG;
- :mod:`cqrs_lab.ui.player` -- the step-through player; its script and parts in
  :mod:`cqrs_lab.ui.player_script`, its widgets (ipywidgets) in :mod:`cqrs_lab.ui.player_widgets`;
- :mod:`cqrs_lab.ui.charts` -- matplotlib charts of a simulation's DataFrames (the sweeps'
  in :mod:`cqrs_lab.ui.sweep_charts`);
- :mod:`cqrs_lab.ui.lag_explorer` -- sliders over a simulation's knobs (ipywidgets).
"""
