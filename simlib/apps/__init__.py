"""Widget apps: one module per app (``commission_lab``, ``target_workshop``, ...).

Each app is a class whose update logic is a pure function of the control values
(testable without a browser); ipywidgets is imported only when the app's controls are
built, so importing an app's module costs nothing for code that only computes. Import
the app from its module, e.g.
``from simlib.apps.commission_lab import CommissionLab``.
"""

__all__: list[str] = []
