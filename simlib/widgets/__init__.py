"""Widget apps: one module per app.

Each app is a class whose update logic is a pure function of the control values
(testable without a browser); ipywidgets is imported only when the app's controls are
built, so importing an app's module costs nothing for code that only computes.

- :mod:`simlib.widgets.commission_lab`: the commission-plan what-if lab
  (:class:`~simlib.widgets.commission_lab.CommissionLab`).
"""

__all__: list[str] = []
