"""Drawing and dashboards for notebooks: the architecture diagram, charts and widgets.

Nothing is imported here, so ``import cqrs_lab.ui`` pulls in neither ipywidgets nor matplotlib;
import the module you need, e.g. ``from cqrs_lab.ui.diagram import Diagram``.
"""
