"""The canonical tables every part of simlib reads.

Each table is declared as data: its columns, their kinds, which are required, which
values are allowed, and the keys that tie tables together. Loaders (`simlib.data.io`)
map a CRM export onto these columns and validate against them; the demo company
(`simlib.data.sample`) produces them directly.

Kinds
-----
``id``     text identifier (never parsed as a number: leading zeros survive)
``text``   free text
``date``   calendar date (``datetime64[ns]``, no time of day)
``money``  non-negative amount in the company currency (float64, cents kept)
``number`` real number
``int``    non-negative whole number
``bool``   true / false (accepts yes/no, 1/0, 是/否)
``enum``   one of ``allowed`` (text)
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Canonical opportunity stages in funnel order. ``won`` and ``lost`` are closed.
OPEN_STAGES: tuple[str, ...] = ("qualification", "discovery", "proposal", "negotiation")
CLOSED_STAGES: tuple[str, ...] = ("won", "lost")
STAGES: tuple[str, ...] = OPEN_STAGES + CLOSED_STAGES

CUSTOMER_TYPES: tuple[str, ...] = ("key_account", "smb")
DEAL_TYPES: tuple[str, ...] = ("new_customer", "existing_customer")
ORG_LEVELS: tuple[str, ...] = ("company", "region", "team")
ROLES: tuple[str, ...] = ("rep", "manager", "director")
ACTIVITY_TYPES: tuple[str, ...] = ("visit", "proposal", "support")
LEAD_STATUSES: tuple[str, ...] = ("open", "converted", "disqualified")


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    kind: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class ForeignKey:
    """``column`` must name a row of ``table`` by its ``ref`` column."""

    column: str
    table: str
    ref: str


@dataclass(frozen=True)
class Table:
    """A canonical table: ordered columns, a primary key and foreign keys."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = field(default=())
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}; columns: {self.column_names}")


def _c(name, kind, required=True, allowed=None, description=""):
    return Column(name, kind, required, allowed, description)


ORG = Table(
    "org",
    (
        _c("node_id", "id"),
        _c("parent_id", "id", required=False, description="empty for the company (root)"),
        _c("level", "enum", allowed=ORG_LEVELS),
        _c("name", "text"),
        _c("name_zh", "text", required=False),
    ),
    key=("node_id",),
    foreign_keys=(ForeignKey("parent_id", "org", "node_id"),),
    description=(
        "The organisation tree above the reps: company → region → team. A node may not "
        "be its own parent or ancestor (checked when the data loads)."
    ),
)

REPS = Table(
    "reps",
    (
        _c("rep_id", "id"),
        _c("name", "text"),
        _c("name_zh", "text", required=False),
        _c("team_id", "id"),
        _c("role", "enum", allowed=ROLES),
        _c("hire_date", "date"),
        _c("leave_date", "date", required=False),
        _c("email", "text", required=False),
        _c(
            "hire_date_inferred",
            "bool",
            required=False,
            description="hire date not in the data: the day of the first deal (missing: infer)",
        ),
    ),
    key=("rep_id",),
    foreign_keys=(ForeignKey("team_id", "org", "node_id"),),
    description="Sales consultants and their managers; each belongs to one team.",
)

PRODUCTS = Table(
    "products",
    (
        _c("product_id", "id"),
        _c("name", "text"),
        _c("name_zh", "text", required=False),
        _c("product_line", "text"),
        _c("unit_price", "money", required=False),
        _c("gross_margin_pct", "number", required=False),
    ),
    key=("product_id",),
)

CUSTOMERS = Table(
    "customers",
    (
        _c("customer_id", "id"),
        _c("name", "text"),
        _c("region_id", "id", required=False),
        _c("customer_type", "enum", required=False, allowed=CUSTOMER_TYPES),
        _c("industry", "text", required=False),
        _c("owner_id", "id", required=False),
        _c("created_date", "date", required=False),
        _c("renewal_date", "date", required=False, description="next contract renewal"),
        _c("annual_contract_value", "money", required=False),
    ),
    key=("customer_id",),
    foreign_keys=(ForeignKey("owner_id", "reps", "rep_id"),),
)

OPPORTUNITIES = Table(
    "opportunities",
    (
        _c("opportunity_id", "id"),
        _c("name", "text", required=False),
        _c("customer_id", "id"),
        _c("owner_id", "id"),
        _c("product_id", "id"),
        _c("amount", "money"),
        _c("stage", "enum", allowed=STAGES),
        _c("created_date", "date"),
        _c(
            "expected_close_date",
            "date",
            description="may be empty when the mapping says missing: {expected_close_date: empty}",
        ),
        _c("close_date", "date", required=False, description="actual close; empty while open"),
        _c("lead_source", "text", required=False),
        _c("deal_type", "enum", required=False, allowed=DEAL_TYPES),
        _c("probability", "number", required=False, description="CRM stage probability, 0-1"),
        _c(
            "gross_margin",
            "money",
            required=False,
            description="the deal's gross margin or profit (amount), for margin-based plans",
        ),
        _c(
            "cost",
            "money",
            required=False,
            description="the deal's cost: gross margin = amount − cost, for margin-based plans",
        ),
        _c(
            "amount_estimated",
            "bool",
            required=False,
            description="amount not in the export: the product's list price (missing: price_list)",
        ),
        _c(
            "created_estimated",
            "bool",
            required=False,
            description="created date not in the export: the data's last day (missing: impute)",
        ),
    ),
    key=("opportunity_id",),
    foreign_keys=(
        ForeignKey("owner_id", "reps", "rep_id"),
        ForeignKey("product_id", "products", "product_id"),
        ForeignKey("customer_id", "customers", "customer_id"),
    ),
)

STAGE_HISTORY = Table(
    "stage_history",
    (
        _c("opportunity_id", "id"),
        _c("changed_date", "date"),
        _c("stage", "enum", allowed=STAGES),
        _c("amount", "money", required=False),
        _c("expected_close_date", "date", required=False),
    ),
    key=("opportunity_id", "changed_date", "stage"),
    foreign_keys=(ForeignKey("opportunity_id", "opportunities", "opportunity_id"),),
    description=(
        "Every change of an opportunity's stage, amount or expected close date, as it was "
        "known on that day. A push of the close date is a row with the same stage."
    ),
)

ACTIVITIES = Table(
    "activities",
    (
        _c("activity_id", "id"),
        _c("rep_id", "id"),
        _c("date", "date"),
        _c("activity_type", "enum", allowed=ACTIVITY_TYPES),
        _c("customer_id", "id", required=False),
        _c("opportunity_id", "id", required=False),
        _c("rating", "number", required=False, description="customer's rating of a visit, 1-5"),
        _c("accepted", "bool", required=False, description="proposal accepted"),
        _c("support_region_id", "id", required=False, description="region helped (support)"),
    ),
    key=("activity_id",),
    foreign_keys=(ForeignKey("rep_id", "reps", "rep_id"),),
)

LEADS = Table(
    "leads",
    (
        _c("lead_id", "id"),
        _c("rep_id", "id"),
        _c("created_date", "date"),
        _c("source", "text"),
        _c("qualified", "bool"),
        _c("status", "enum", allowed=LEAD_STATUSES),
        _c("customer_type", "enum", required=False, allowed=CUSTOMER_TYPES),
        _c("estimated_value", "money", required=False),
        _c("next_followup_date", "date", required=False),
        _c("converted_date", "date", required=False),
        _c("opportunity_id", "id", required=False),
    ),
    key=("lead_id",),
    foreign_keys=(ForeignKey("rep_id", "reps", "rep_id"),),
)

INVOICES = Table(
    "invoices",
    (
        _c("invoice_id", "id"),
        _c("customer_id", "id"),
        _c("rep_id", "id"),
        _c("opportunity_id", "id", required=False),
        _c("issue_date", "date"),
        _c("due_date", "date"),
        _c("amount", "money"),
    ),
    key=("invoice_id",),
    foreign_keys=(ForeignKey("rep_id", "reps", "rep_id"),),
)

PAYMENTS = Table(
    "payments",
    (
        _c("payment_id", "id"),
        _c("invoice_id", "id"),
        _c("date", "date"),
        _c("amount", "money"),
    ),
    key=("payment_id",),
    foreign_keys=(ForeignKey("invoice_id", "invoices", "invoice_id"),),
)

NPS = Table(
    "nps",
    (
        _c("response_id", "id"),
        _c("customer_id", "id"),
        _c("rep_id", "id"),
        _c("date", "date"),
        _c("score", "int", description="0-10 likelihood to recommend"),
    ),
    key=("response_id",),
    foreign_keys=(ForeignKey("rep_id", "reps", "rep_id"),),
)

REVERSALS = Table(
    "reversals",
    (
        _c("opportunity_id", "id"),
        _c("reversal_date", "date", description="when the won deal was cancelled or refunded"),
        _c("reason", "text", required=False),
    ),
    key=("opportunity_id",),
    foreign_keys=(ForeignKey("opportunity_id", "opportunities", "opportunity_id"),),
    description=(
        "Won deals cancelled, refunded or charged back after they closed: a plan with a "
        "clawback takes back the commission paid on them (within its window)."
    ),
)

TARGETS = Table(
    "targets",
    (
        _c("owner_id", "id", description="a rep_id or an org node_id"),
        _c("level", "enum", allowed=ORG_LEVELS + ("rep",)),
        _c("period", "text", description="2025, 2025-Q3 or 2025-07"),
        _c("metric", "text"),
        _c("amount", "money"),
    ),
    key=("owner_id", "period", "metric"),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        ORG,
        REPS,
        PRODUCTS,
        CUSTOMERS,
        OPPORTUNITIES,
        STAGE_HISTORY,
        ACTIVITIES,
        LEADS,
        INVOICES,
        PAYMENTS,
        NPS,
        TARGETS,
        REVERSALS,
    )
}
