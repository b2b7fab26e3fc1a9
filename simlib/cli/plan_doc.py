"""``simlib plan-doc``: the plan document a rep signs, as an A4 page (and PDF) or text."""

from __future__ import annotations

import sys
from pathlib import Path

from simlib.cli.common import (
    EXIT_OK,
    UserError,
    add_data_args,
    load_dataset,
    parse_amount,
    user_lang,
)


def _quota(text: str | None, plan) -> float | None:
    """``--quota``: an amount; for a plan on a rate (renewal rate) also ``90%``."""
    if text is None:
        return None
    t = str(text).strip()
    if plan.measure == "renewal_rate" and t.endswith("%"):
        try:
            return float(t[:-1].replace(",", "")) / 100
        except ValueError:
            raise UserError(f"--quota must be a rate like 90% or 0.9; got {text!r}") from None
    return parse_amount(t, "--quota")


def cmd_plan_doc(args) -> int:
    """Write the plan document (HTML, PDF beside it) or print it as text."""
    from simlib.plans import load_plan
    from simlib.views.plan_doc import plan_document

    plan = load_plan(args.plan)
    quota = _quota(args.quota, plan)
    ti = (
        parse_amount(args.target_incentive, "--target-incentive")
        if args.target_incentive is not None
        else None
    )
    if ti is not None and ti <= 0:
        raise UserError(f"--target-incentive must be above 0; got {args.target_incentive}")
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--out is the HTML page to write (FILE.html); got {args.out!r}")
    if args.pdf and out is None:
        raise UserError("--pdf writes a PDF beside the HTML page: give --out FILE.html")
    lang = user_lang(args)
    data = load_dataset(args) if (args.rep is not None or args.data) else None
    try:
        doc = plan_document(
            plan, rep_id=args.rep, data=data, quota=quota, lang=lang, target_incentive=ti
        )
    except ValueError as e:
        raise UserError(str(e)) from None
    if out is None:
        sys.stdout.write(doc.text())
        return EXIT_OK
    from simlib.reports.render import PdfPrinter, PdfUnavailable, _write_atomic

    try:
        _write_atomic(out, doc.html())
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror or e}") from None
    print(f"wrote {out}")
    if args.pdf:
        pdf = out.with_suffix(".pdf")
        printer = PdfPrinter()
        try:
            printer.print_pdf(out, pdf)
        except PdfUnavailable as e:
            print(f"note: {e}", file=sys.stderr)
            return EXIT_OK
        finally:
            printer.close()
        print(f"wrote {pdf}")
    return EXIT_OK


def add_parser(sub) -> None:
    p = sub.add_parser(
        "plan-doc",
        help="the plan document a rep signs: bands, terms, worked examples, signature",
        description=(
            "One A4 page explaining a commission plan to a rep (zh-CN or English): bands, "
            "gates, caps and every other term, worked examples at 50%%, 100%% and 150%% of "
            "the rep's quota, and a signature block. Without --out, prints it as text."
        ),
    )
    p.add_argument("--plan", required=True, help="a shipped plan's name or a path to a plan file")
    p.add_argument("--rep", default=None, help="rep id or name (names and quota from the data)")
    p.add_argument("--quota", default=None, help="quota of one period (overrides the data's)")
    p.add_argument("--target-incentive", default=None, help="target incentive (plans paying one)")
    p.add_argument("--out", default=None, help="write the page to FILE.html")
    p.add_argument("--pdf", action="store_true", help="also print FILE.pdf beside the page")
    add_data_args(p)
    p.set_defaults(func=cmd_plan_doc)
