"""What people read: one module per report or screen, built from domain results.

Report templates (``notebooks/reports``) and widget apps (:mod:`simlib.apps`) both
call these; nothing here renders, schedules or serves.

- :mod:`~simlib.views.overview`: the demo company's plan summary (``simlib demo``);
- :mod:`~simlib.views.forecast`: the quarter's attainment forecast;
- :mod:`~simlib.views.commission_summary`: a period's commission cost by scope;
- :mod:`~simlib.views.statement`: one rep's commission statement;
- :mod:`~simlib.views.quote`: a customer quote;
- :mod:`~simlib.views.team_review`: weekly and monthly team reviews, the rep pack;
- :mod:`~simlib.views.workshop`: the target workshop's tables, wall and handout.
"""
