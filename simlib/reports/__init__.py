"""Report delivery: render templates with papermill, batches, the schedule, roles.

``simlib.reports.render`` renders one template; ``simlib.reports.batch`` renders a
grid in one process pool (or on a Dask cluster); ``simlib.reports.schedule`` runs
what ``params/schedule.yaml`` says is due; ``simlib.reports.pack`` renders the
demo company's whole report pack with an ``index.html``.
"""
