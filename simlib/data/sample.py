"""The embedded demo company: Huaxia Smart Systems (华夏智能系统).

A Chinese B2B seller of industrial sensors, an IoT platform and maintenance
services, with four regions, nine teams and about sixty sales consultants, trading
in CNY. :func:`generate_demo` produces every canonical table of
:mod:`simlib.data.schema` from one seed, so that each notebook, report and test has
realistic data out of the box: two full years of history plus the current year to
date, an open pipeline with slippage, seasonality (a heavy Q4, a Chinese New Year
dip), new hires ramping up, and a few struggling consultants for the early-warning
rules to find.

The generator is a small causal story rather than independent random columns:

* each consultant has a latent ``skill`` that drives lead conversion, win rate, deal
  size, activity volume, visit ratings, NPS and cash collection;
* leads arrive per business day; converted leads become opportunities (some on new
  accounts), and account management adds repeat-purchase opportunities, at a
  steadier rhythm, on accounts that already buy;
* every opportunity walks the funnel stage by stage on business days, may be lost
  at any stage, and may have its expected close date pushed, repeatedly; reps
  manage their quarters (a rep far ahead holds late wins back, one behind pulls
  early wins in) and customers' year-end budgets make Q4 the biggest quarter;
* won deals are invoiced and (mostly) paid; targets for each year are set from the
  prior year's actuals plus growth and over-assignment, with ramped quotas for new
  hires.

A year before the history is simulated too and then dropped, so the history opens
with the pipeline a real CRM would hold (opportunities created in the prior year
and still open). All dates are business days of a calendar that closes for New
Year's Day, the Spring Festival week, the May Day and the National Day holidays.
Nothing here reads a clock or global random state: the tables depend on ``seed``
and ``as_of`` only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simlib.data.schema import STAGES, TABLES, Table

__all__ = ["DEMO_SEED", "DEMO_AS_OF", "generate_demo"]

#: Seed of the demo company everyone sees by default.
DEMO_SEED: int = 20261120
#: Last day of the demo company's data (a Friday).
DEMO_AS_OF: dt.date = dt.date(2026, 11, 20)

# First day of the Spring Festival (Chinese New Year) for the years the calendar
# may need; the holiday week is taken as the eve to the sixth day.
SPRING_FESTIVAL: dict[int, str] = {
    2015: "2015-02-19",
    2016: "2016-02-08",
    2017: "2017-01-28",
    2018: "2018-02-16",
    2019: "2019-02-05",
    2020: "2020-01-25",
    2021: "2021-02-12",
    2022: "2022-02-01",
    2023: "2023-01-22",
    2024: "2024-02-10",
    2025: "2025-01-29",
    2026: "2026-02-17",
    2027: "2027-02-06",
    2028: "2028-01-26",
    2029: "2029-02-13",
    2030: "2030-02-03",
    2031: "2031-01-23",
    2032: "2032-02-11",
    2033: "2033-01-31",
    2034: "2034-02-19",
}
_FIRST_AS_OF = dt.date(2021, 1, 1)
_LAST_AS_OF = dt.date(2031, 12, 31)

# Business days per month and per year, for converting rates and ramps.
_BD_MONTH = 21.0
_BD_YEAR = 250.0

_STAGE_PROBABILITY = {
    "qualification": 0.1,
    "discovery": 0.25,
    "proposal": 0.5,
    "negotiation": 0.75,
    "won": 1.0,
    "lost": 0.0,
}

_REGIONS = (  # node_id, English name, Chinese name, productivity of the territory
    ("R-EAST", "East China", "华东", 1.1),
    ("R-SOUTH", "South China", "华南", 1.0),
    ("R-NORTH", "North China", "华北", 0.93),
    ("R-WEST", "West", "西部", 0.85),
)

_TEAMS = (  # node_id, region, city, city (zh), consultants at as_of
    ("T-SH", "R-EAST", "Shanghai", "上海", 8),
    ("T-HZ", "R-EAST", "Hangzhou", "杭州", 8),
    ("T-NJ", "R-EAST", "Nanjing", "南京", 8),
    ("T-GZ", "R-SOUTH", "Guangzhou", "广州", 6),
    ("T-SZ", "R-SOUTH", "Shenzhen", "深圳", 7),
    ("T-BJ", "R-NORTH", "Beijing", "北京", 7),
    ("T-TJ", "R-NORTH", "Tianjin", "天津", 5),
    ("T-CD", "R-WEST", "Chengdu", "成都", 6),
    ("T-CQ", "R-WEST", "Chongqing", "重庆", 5),
)

# Roster changes, as months before as_of so that any as_of keeps "a leaver last
# year, new hires mid last year and mid this year": (team, kind, months_before).
# A hire listed right after a leaver of the same team replaces that leaver and
# inherits the leaver's accounts.
_ROSTER_CHANGES = (
    ("T-HZ", "leave", 18.0),
    ("T-HZ", "hire", 17.5),
    ("T-GZ", "hire", 16.5),
    ("T-CQ", "leave", 16.0),
    ("T-CQ", "hire", 15.5),
    ("T-SH", "hire", 5.5),
    ("T-BJ", "hire", 4.5),
)

_SURNAMES = (
    ("王", "Wang"),
    ("李", "Li"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("马", "Ma"),
    ("朱", "Zhu"),
    ("胡", "Hu"),
    ("郭", "Guo"),
    ("何", "He"),
    ("高", "Gao"),
    ("林", "Lin"),
    ("罗", "Luo"),
    ("郑", "Zheng"),
    ("梁", "Liang"),
    ("谢", "Xie"),
    ("宋", "Song"),
    ("唐", "Tang"),
    ("韩", "Han"),
    ("冯", "Feng"),
    ("邓", "Deng"),
    ("曹", "Cao"),
    ("彭", "Peng"),
    ("曾", "Zeng"),
    ("田", "Tian"),
    ("董", "Dong"),
    ("潘", "Pan"),
    ("袁", "Yuan"),
    ("蔡", "Cai"),
    ("蒋", "Jiang"),
    ("杜", "Du"),
    ("叶", "Ye"),
    ("程", "Cheng"),
    ("魏", "Wei"),
    ("苏", "Su"),
    ("丁", "Ding"),
    ("任", "Ren"),
    ("沈", "Shen"),
    ("姚", "Yao"),
)
_GIVEN_NAMES = (
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("丽", "Li"),
    ("强", "Qiang"),
    ("磊", "Lei"),
    ("军", "Jun"),
    ("洋", "Yang"),
    ("勇", "Yong"),
    ("艳", "Yan"),
    ("杰", "Jie"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("秀英", "Xiuying"),
    ("霞", "Xia"),
    ("平", "Ping"),
    ("刚", "Gang"),
    ("浩", "Hao"),
    ("婷", "Ting"),
    ("鹏", "Peng"),
    ("宇", "Yu"),
    ("欣怡", "Xinyi"),
    ("子轩", "Zixuan"),
    ("晨", "Chen"),
    ("雪", "Xue"),
    ("琳", "Lin"),
    ("博", "Bo"),
    ("建国", "Jianguo"),
    ("志强", "Zhiqiang"),
    ("海燕", "Haiyan"),
    ("晓东", "Xiaodong"),
    ("俊杰", "Junjie"),
    ("佳", "Jia"),
    ("慧", "Hui"),
    ("斌", "Bin"),
    ("凯", "Kai"),
    ("倩", "Qian"),
    ("颖", "Ying"),
    ("思远", "Siyuan"),
    ("文博", "Wenbo"),
    ("雨桐", "Yutong"),
    ("梓涵", "Zihan"),
    ("亮", "Liang"),
    ("峰", "Feng"),
    ("红", "Hong"),
    ("波", "Bo2"),
)

_PRODUCTS = (  # id, name, name_zh, line, unit price, gross margin, deal-size factor
    ("P-SEN-01", "Vibration Sensor Kit", "振动传感器套件", "Smart Sensors", 12_000.0, 0.46, 0.9),
    (
        "P-SEN-02",
        "Temperature & Humidity Sensor Array",
        "温湿度传感阵列",
        "Smart Sensors",
        8_500.0,
        0.42,
        0.85,
    ),
    ("P-SEN-03", "Smart Edge Gateway", "智能边缘网关", "Smart Sensors", 26_000.0, 0.38, 1.0),
    (
        "P-IOT-01",
        "IoT Platform License",
        "工业物联网平台许可",
        "IoT Platform",
        180_000.0,
        0.72,
        1.3,
    ),
    (
        "P-IOT-02",
        "Predictive Maintenance Module",
        "预测性维护模块",
        "IoT Platform",
        120_000.0,
        0.68,
        1.2,
    ),
    ("P-IOT-03", "Digital Twin Suite", "数字孪生套件", "IoT Platform", 350_000.0, 0.70, 1.4),
    (
        "P-SVC-01",
        "Annual Maintenance Contract",
        "年度运维合同",
        "Maintenance Services",
        60_000.0,
        0.55,
        0.8,
    ),
    (
        "P-SVC-02",
        "On-site Engineering Service",
        "现场工程服务",
        "Maintenance Services",
        30_000.0,
        0.35,
        0.7,
    ),
)

# Lead sources: share of leads, chance marketing qualifies a lead, chance a qualified
# lead converts to an opportunity, and the source's effect on each stage's win odds.
_SOURCES = ("Website", "Referral", "Trade Show", "Cold Call", "Partner")
_SOURCE_SHARE = np.array([0.32, 0.14, 0.18, 0.22, 0.14])
_SOURCE_QUALIFY = np.array([0.55, 0.85, 0.62, 0.45, 0.72])
_SOURCE_CONVERT = np.array([0.33, 0.58, 0.36, 0.22, 0.48])
_SOURCE_WIN = np.array([0.0, 0.35, -0.10, -0.35, 0.20])
_ACCOUNT_SOURCE = "Existing Customer"  # repeat business found by account management
_ACCOUNT_SOURCE_WIN = 0.25

_INDUSTRIES = (
    ("Manufacturing", ("Precision Machinery", "Heavy Industries", "Intelligent Equipment")),
    ("Automotive", ("Auto Parts", "Motor")),
    ("Electronics", ("Electronics", "Semiconductor")),
    ("Energy", ("Power Equipment", "New Energy")),
    ("Chemicals", ("Chemical", "New Materials")),
    ("Logistics", ("Logistics", "Supply Chain")),
    ("Food & Beverage", ("Food", "Beverage")),
    ("Pharmaceuticals", ("Pharmaceutical", "Biotech")),
    ("Utilities", ("Water Services", "Gas")),
    ("Metals & Mining", ("Steel", "Nonferrous Metals")),
)
_BRANDS = (
    "Huamei",
    "Xinyuan",
    "Jinhui",
    "Tianrun",
    "Hongda",
    "Zhongtian",
    "Ruida",
    "Hengxin",
    "Yida",
    "Kaiyuan",
    "Shenghua",
    "Minghui",
    "Haoyu",
    "Jiecheng",
    "Guangda",
    "Lixin",
    "Xinda",
    "Huaxin",
    "Hengtai",
    "Zhongke",
    "Jinlong",
    "Tianyi",
    "Ruifeng",
    "Boyuan",
    "Kaida",
    "Mingyang",
    "Hongxing",
    "Lianhe",
    "Dingsheng",
    "Yuanhang",
    "Haitian",
    "Jiahe",
    "Weilong",
    "Shengda",
    "Hualian",
    "Zhongxin",
    "Taihe",
    "Guoxin",
    "Anda",
    "Yongxin",
    "Fuxing",
    "Changjiang",
    "Huanyu",
    "Jingcheng",
    "Xinghe",
    "Baorun",
    "Ronghua",
    "Deli",
    "Tongda",
    "Shunfeng",
    "Chuangyi",
    "Huitong",
    "Longsheng",
    "Kangtai",
    "Zhenghe",
    "Jinyuan",
)
_CITIES = {
    "R-EAST": ("Shanghai", "Hangzhou", "Nanjing", "Suzhou", "Ningbo", "Wuxi", "Hefei"),
    "R-SOUTH": ("Guangzhou", "Shenzhen", "Dongguan", "Foshan", "Xiamen", "Zhuhai"),
    "R-NORTH": ("Beijing", "Tianjin", "Shijiazhuang", "Jinan", "Qingdao", "Tangshan"),
    "R-WEST": ("Chengdu", "Chongqing", "Xi'an", "Kunming", "Guiyang", "Mianyang"),
}

# Funnel: chance of advancing from each open stage to the next (the last to "won"),
# as log-odds, for an average consultant on an average deal.
_ADVANCE = np.array([0.70, 0.67, 0.72, 0.78])
_ADVANCE_LOGIT = np.log(_ADVANCE / (1 - _ADVANCE))
# Relative time spent in each open stage (gamma shapes of a Dirichlet split).
_STAGE_TIME = np.array([1.6, 2.2, 2.6, 2.0])

_CAPABILITY = 1  # struggling kinds in _People.struggle
_RESOURCE = 2

_NEVER = 10**7  # a business day after everything (or, negated, before everything)
_NONE = -_NEVER  # marks an absent day in (deal, stage) and (deal, push) arrays


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class _Timeline:
    """Business-day axis: index 0 is the first business day of the history."""

    start: np.datetime64  # first business day of the history
    cal: np.busdaycalendar
    as_of_b: int  # index of the last business day on or before as_of
    as_of: np.datetime64
    warm: int  # business days simulated before the history, to open with a pipeline
    table_lo: int  # dates of business days table_lo, table_lo + 1, ... (a lookup table)
    table: np.ndarray

    @property
    def days(self) -> np.ndarray:
        """Business-day indices simulated: the warm-up, the history, up to as_of."""
        return np.arange(-self.warm, self.as_of_b + 1)

    def dates(self, b: np.ndarray) -> np.ndarray:
        """Calendar dates (``datetime64[D]``) of business-day indices."""
        b = np.asarray(b, dtype=np.int64)
        i = b - self.table_lo
        if b.size and i.min() >= 0 and i.max() < self.table.size:
            return self.table[i]
        return np.busday_offset(self.start, b, roll="forward", busdaycal=self.cal)

    def index(self, d: np.ndarray) -> np.ndarray:
        """Index of the first business day on or after each date."""
        # Roll to a business day first: numpy counts backwards from ``start`` over
        # (d, start], which for a holiday before ``start`` would be one day short.
        d = np.busday_offset(
            np.asarray(d, dtype="datetime64[D]"), 0, roll="forward", busdaycal=self.cal
        )
        return np.busday_count(self.start, d, busdaycal=self.cal).astype(np.int64)


def _holidays(first_year: int, last_year: int) -> list[np.datetime64]:
    """Public holidays closing the company: New Year, Spring Festival, May Day, National Day."""
    days: list[np.datetime64] = []
    for y in range(first_year, last_year + 1):
        days.append(np.datetime64(f"{y}-01-01"))
        cny = np.datetime64(SPRING_FESTIVAL[y])
        days.extend(cny + np.arange(-1, 7))
        days.extend(np.datetime64(f"{y}-05-01") + np.arange(5))
        days.extend(np.datetime64(f"{y}-10-01") + np.arange(7))
    return days


def _timeline(as_of: dt.date) -> _Timeline:
    """The business-day axis of a history ending at ``as_of``."""
    start_year = as_of.year - 2
    cal = np.busdaycalendar(weekmask="1111100", holidays=_holidays(start_year - 1, as_of.year + 3))
    start = np.busday_offset(np.datetime64(f"{start_year}-01-01"), 0, roll="forward", busdaycal=cal)
    a = np.datetime64(as_of, "D")
    as_of_b = int(np.busday_count(start, a + 1, busdaycal=cal)) - 1
    # A year of warm-up, so that the history opens with the pipeline created the
    # year before rather than with an empty CRM.
    lo = -600  # the lookup table spans every day a deal can touch
    table = np.busday_offset(start, np.arange(lo, as_of_b + 1500), roll="forward", busdaycal=cal)
    return _Timeline(start, cal, as_of_b, a, warm=250, table_lo=lo, table=table)


def _month_year(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calendar month (1-12) and year of ``datetime64`` dates."""
    months = d.astype("datetime64[M]").astype(np.int64)
    return months % 12 + 1, months // 12 + 1970


# --------------------------------------------------------------------------- people


@dataclass
class _People:
    """Per-person arrays; the first ``n_sellers`` rows are the consultants."""

    reps: pd.DataFrame
    n_sellers: int
    team: np.ndarray  # team index
    region: np.ndarray  # region index
    skill: np.ndarray
    territory: np.ndarray
    hire_b: np.ndarray
    leave_b: np.ndarray  # huge for people who stay
    successor: np.ndarray  # seller index inheriting the accounts, -1 for none
    struggle: np.ndarray  # 0, _CAPABILITY or _RESOURCE
    collect: np.ndarray  # propensity to collect cash
    star: int  # the company's best seller (Zhang Wei, Shanghai)
    rep_id: np.ndarray  # person index -> rep_id


def _unique_names(rng: np.random.Generator, n: int, taken: set[str]) -> list[tuple[str, str]]:
    """Draw ``n`` distinct (pinyin, hanzi) names; pinyin and hanzi are both unique."""
    out: list[tuple[str, str]] = []
    seen = set(taken)
    while len(out) < n:
        s = _SURNAMES[int(rng.integers(len(_SURNAMES)))]
        g = _GIVEN_NAMES[int(rng.integers(len(_GIVEN_NAMES)))]
        pinyin = f"{s[1]} {g[1].rstrip('2')}"
        if pinyin in seen or s[1] == g[1]:
            continue
        seen.add(pinyin)
        out.append((pinyin, s[0] + g[0]))
    return out


def _make_people(rng: np.random.Generator, tl: _Timeline, as_of: dt.date) -> _People:
    """Consultants, then managers and the director, with their latent traits."""
    start_d = tl.start
    team_ids = [t[0] for t in _TEAMS]
    region_ids = [r[0] for r in _REGIONS]

    def months_before(m: float) -> np.datetime64:
        d = pd.Timestamp(as_of) - pd.DateOffset(months=int(m), days=int(round((m % 1) * 30)))
        return np.busday_offset(np.datetime64(d.date(), "D"), 0, roll="forward", busdaycal=tl.cal)

    rows = []  # team, hire date, leave date, replaces-row
    for t, (tid, _, _, _, n_final) in enumerate(_TEAMS):
        changes = [c for c in _ROSTER_CHANGES if c[0] == tid]
        n_hires = sum(c[1] == "hire" for c in changes)
        n_leavers = sum(c[1] == "leave" for c in changes)
        tenured = n_final - n_hires + n_leavers
        first = len(rows)
        for _ in range(tenured):
            # Tenure of 1-10 years; the latest hires joined well before the history.
            days = int(rng.integers(365, 365 * 10))
            hire = np.busday_offset(start_d - days, 0, roll="forward", busdaycal=tl.cal)
            rows.append([t, hire, None, -1])
        tenured_rows = list(range(first, len(rows)))
        last_leaver = -1
        for _, kind, m in changes:
            if kind == "leave":
                last_leaver = tenured_rows.pop(int(rng.integers(len(tenured_rows))))
                rows[last_leaver][2] = months_before(m)
            else:
                rows.append([t, months_before(m), None, last_leaver])
                last_leaver = -1
    n_sellers = len(rows)
    team = np.array([r[0] for r in rows])
    region = np.array([region_ids.index(_TEAMS[t][1]) for t in team])

    # Skill is clipped: nobody else is as strong as the star below.
    skill = np.clip(rng.normal(0.0, 1.0, n_sellers), -2.2, 1.0)
    hire_d = np.array([r[1] for r in rows], dtype="datetime64[D]")
    is_new = hire_d > start_d
    skill[is_new] = np.clip(rng.normal(-0.2, 0.7, is_new.sum()), -2.2, 1.0)
    # The star: the longest-serving Shanghai consultant, surnamed Zhang.
    sh = np.flatnonzero((team == 0) & ~is_new)
    star = int(sh[np.argmin(hire_d[sh])])
    skill[star] = 2.2
    territory = np.array([_REGIONS[r][3] for r in region]) * np.exp(rng.normal(0, 0.08, n_sellers))
    territory[star] = _REGIONS[0][3] * 1.04  # and the strongest accounts in Shanghai

    leave_b = np.full(n_sellers, _NEVER, dtype=np.int64)
    successor = np.full(n_sellers, -1, dtype=np.int64)
    for i, r in enumerate(rows):
        if r[2] is not None:
            leave_b[i] = tl.index(r[2])
        if r[3] >= 0:
            successor[r[3]] = i
    # Struggling consultants: tenured, ordinary skill, outside Shanghai, each in a
    # different team, none about to leave.
    struggle = np.zeros(n_sellers, dtype=np.int64)
    eligible = np.flatnonzero(
        ~is_new & (team != 0) & (leave_b > tl.as_of_b + 500) & (np.abs(skill) < 0.9)
    )
    order = rng.permutation(eligible)
    used_teams: set[int] = set()
    wanted = [_CAPABILITY, _CAPABILITY, _RESOURCE, _RESOURCE]
    for i in order:
        if not wanted:
            break
        if int(team[i]) in used_teams:
            continue
        used_teams.add(int(team[i]))
        struggle[i] = wanted.pop(0)
    collect = np.clip(0.925 + 0.025 * skill + rng.normal(0, 0.018, n_sellers), 0.82, 0.985)
    collect[struggle > 0] = rng.uniform(0.80, 0.86, (struggle > 0).sum())

    # Managers and the director: sell nothing, own no accounts.
    mgr_hire = [
        np.busday_offset(
            start_d - int(rng.integers(365 * 4, 365 * 12)), 0, roll="forward", busdaycal=tl.cal
        )
        for _ in _TEAMS
    ]
    dir_hire = np.busday_offset(
        start_d - int(rng.integers(365 * 10, 365 * 14)), 0, roll="forward", busdaycal=tl.cal
    )

    names = _unique_names(rng, n_sellers + len(_TEAMS) + 1, taken={"Zhang Wei"})
    names = [(p, h) for p, h in names if not p.startswith("Zhang ")]
    while len(names) < n_sellers + len(_TEAMS) + 1:  # pragma: no cover - surname list is large
        names += _unique_names(rng, 1, taken={p for p, _ in names} | {"Zhang Wei"})
    names[star] = ("Zhang Wei", "张伟")

    # Ids: the director first, then each team's manager followed by its consultants
    # in order of hire.
    records = []
    person_rows = [("director", -1, dir_hire, None, n_sellers + len(_TEAMS))]
    for t in range(len(_TEAMS)):
        person_rows.append(("manager", t, mgr_hire[t], None, n_sellers + t))
        members = [i for i in range(n_sellers) if team[i] == t]
        members.sort(key=lambda i: (hire_d[i], i))
        for i in members:
            person_rows.append(("rep", t, hire_d[i], rows[i][2], i))
    rep_id_of = np.empty(n_sellers + len(_TEAMS) + 1, dtype=object)
    for k, (role, t, hire, leave, who) in enumerate(person_rows):
        rid = f"S{k + 1:03d}"
        rep_id_of[who] = rid
        pinyin, hanzi = names[who]
        surname, given = pinyin.split(" ", 1)
        records.append(
            {
                "rep_id": rid,
                "name": pinyin,
                "name_zh": hanzi,
                "team_id": "CO" if t < 0 else team_ids[t],
                "role": role,
                "hire_date": hire,
                "leave_date": leave,
                "email": f"{given.lower()}.{surname.lower()}@huaxia-smart.example.cn",
            }
        )
    reps = pd.DataFrame(records)
    people = _People(
        reps=reps,
        n_sellers=n_sellers,
        team=team,
        region=region,
        skill=skill,
        territory=territory,
        hire_b=tl.index(hire_d),
        leave_b=leave_b,
        successor=successor,
        struggle=struggle,
        collect=collect,
        star=star,
        rep_id=rep_id_of,
    )
    return people


def _owner_at(people: _People, seller: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The seller responsible at business day ``b``: a leaver's successor after leaving."""
    seller = np.asarray(seller).copy()
    gone = (b >= people.leave_b[seller]) & (people.successor[seller] >= 0)
    seller[gone] = people.successor[seller[gone]]
    return seller


# --------------------------------------------------------------------------- rates


def _season(tl: _Timeline) -> np.ndarray:
    """Relative business activity per simulated business day: months, holidays, growth."""
    d = tl.dates(tl.days)
    month, year = _month_year(d)
    by_month = np.array([0.95, 0.92, 1.05, 1.0, 0.97, 1.0, 0.97, 0.97, 1.05, 1.0, 1.05, 0.95])
    f = by_month[month - 1]
    # Business is slow for a week either side of the Spring Festival (customers
    # travel home early and return late).
    for y in np.unique(year):
        cny = np.datetime64(SPRING_FESTIVAL[int(y)])
        gap = (d - cny).astype(np.int64)
        f = np.where((gap >= -9) & (gap < -1), f * 0.35, f)
        f = np.where((gap > 6) & (gap <= 13), f * 0.45, f)
    growth = 1.07 ** (tl.days / _BD_YEAR)
    return f * growth


def _seller_days(people: _People, tl: _Timeline) -> tuple[np.ndarray, np.ndarray]:
    """Active mask and ramp factor per (seller, business day) up to as_of."""
    n = people.n_sellers
    b = tl.days[None, :]
    hire = people.hire_b[:n, None]
    leave = people.leave_b[:n, None]
    active = (b >= hire) & (b < leave)
    # New hires reach full productivity over about six months.
    ramp = np.clip(0.15 + 0.85 * (b - hire) / (6 * _BD_MONTH), 0.15, 1.0)
    # Leavers wind down in their last six weeks.
    ramp = np.where(leave - b <= 30, ramp * 0.6, ramp)
    return active, ramp


def _struggle_factor(people: _People, tl: _Timeline, kind: str) -> np.ndarray:
    """Multiplier (or log-odds shift for ``win``) per (seller, day) for struggling reps.

    Capability gap: from about a year back (deals closing in the current year) the
    consultant wins less; deals created in the last four months (those closing
    now) are lost much more often, and in the last eight weeks leads rarely convert
    although visits go up. Resource gap: leads and repeat business thin out from
    a year back and nearly dry up in the last eight weeks.
    """
    n = people.n_sellers
    b = tl.days[None, :]
    early = b >= tl.as_of_b - 12 * _BD_MONTH
    recent = b >= tl.as_of_b - 4 * _BD_MONTH
    late = b >= tl.as_of_b - 40
    cap = (people.struggle[:n] == _CAPABILITY)[:, None]
    res = (people.struggle[:n] == _RESOURCE)[:, None]
    if kind == "win":
        out = np.zeros((n, b.shape[1]))
        out = np.where(cap & early, -0.45, out)
        return np.where(cap & recent, -0.9, out)
    out = np.ones((n, b.shape[1]))
    if kind == "lead":
        out = np.where(res & early, 0.45, out)
        out = np.where(res & late, 0.1, out)
    elif kind == "convert":
        out = np.where(cap & early, 0.7, out)
        out = np.where(cap & late, 0.3, out)
    elif kind == "account":
        out = np.where(res & early, 0.5, out)
        out = np.where(res & late, 0.3, out)
    elif kind == "visit":
        out = np.where(cap & late, 1.4, out)
        out = np.where(res & late, 0.75, out)
    return out


def _poisson_events(
    rng: np.random.Generator, rate: np.ndarray, first_b: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw counts per (seller, day) and expand them to events (seller, business day);
    column 0 of ``rate`` is business day ``first_b``."""
    counts = rng.poisson(rate)
    seller, col = np.nonzero(counts)
    k = counts[seller, col]
    return np.repeat(seller, k), np.repeat(col, k) + first_b


def _regular_events(
    rng: np.random.Generator, rate: np.ndarray, first_b: int, shape: float = 4.0
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`_poisson_events`, but with gamma-distributed gaps (in units of the
    cumulative rate) of the given shape: a cadence more regular than Poisson, as
    when account reviews follow a rhythm. Counts over a long window vary about
    ``1 / shape`` as much as a Poisson count's."""
    sellers, days = [], []
    for s in range(rate.shape[0]):
        cum = np.cumsum(rate[s])
        total = cum[-1] if cum.size else 0.0
        if total <= 0:
            continue
        n_max = int(total + 6 * np.sqrt(total) + 10)
        # Start at a random phase so sellers' rhythms are not aligned.
        marks = rng.uniform(0, 1) + np.cumsum(rng.gamma(shape, 1 / shape, n_max))
        marks = marks[marks < total]
        day = np.searchsorted(cum, marks, side="right")
        sellers.append(np.full(day.size, s))
        days.append(day)
    if not sellers:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(sellers), np.concatenate(days) + first_b


# --------------------------------------------------------------------------- accounts


@dataclass
class _Accounts:
    """Customer accounts and their ownership intervals (in business days)."""

    key: np.ndarray  # bool
    region: np.ndarray
    industry: np.ndarray
    created: np.ndarray  # datetime64[D]
    created_b: np.ndarray
    base: np.ndarray  # bool: a buyer from before the history
    contract_start: np.ndarray  # datetime64[D], NaT for prospects
    base_acv: np.ndarray
    asg_acc: np.ndarray  # ownership intervals: account, seller, [start, end)
    asg_seller: np.ndarray
    asg_start: np.ndarray
    asg_end: np.ndarray


def _base_accounts(rng: np.random.Generator, people: _People, tl: _Timeline) -> _Accounts:
    """Accounts that already bought before the history starts, owned by tenured reps.

    Books are balanced by management: every consultant holds three or four key
    accounts and a dozen or so smaller ones, a little more for the stronger ones
    and two more key accounts for the star.
    """
    n = people.n_sellers
    tenured = np.flatnonzero(people.hire_b[:n] <= -tl.warm)
    z = people.skill[tenured]
    n_key = np.maximum(2, np.round(3.4 * np.exp(0.12 * z) + rng.uniform(-0.5, 0.5, tenured.size)))
    n_key[tenured == people.star] += 2  # the star earned the biggest book of key accounts
    n_smb = np.maximum(6, np.round(rng.normal(10.5, 1.5, tenured.size) * np.exp(0.08 * z)))
    owner = np.concatenate(
        [np.repeat(tenured, n_key.astype(int)), np.repeat(tenured, n_smb.astype(int))]
    )
    key = np.concatenate([np.ones(int(n_key.sum()), bool), np.zeros(int(n_smb.sum()), bool)])
    n_base = owner.size
    # Created before the warm-up, so every base account predates every deal.
    created = tl.start - rng.integers(220, 365 * 8, n_base)
    created = np.busday_offset(created, 0, roll="forward", busdaycal=tl.cal)
    return _Accounts(
        key=key,
        region=people.region[owner],
        industry=rng.integers(len(_INDUSTRIES), size=n_base),
        created=created,
        created_b=np.full(n_base, -_NEVER),
        base=np.ones(n_base, bool),
        contract_start=created + rng.integers(0, 90, n_base),
        base_acv=np.round(np.exp(rng.normal(np.where(key, np.log(1.4e6), np.log(2.6e5)), 0.5)), -2),
        asg_acc=np.arange(n_base),
        asg_seller=owner,
        asg_start=np.full(n_base, -_NEVER),
        asg_end=np.full(n_base, _NEVER),
    )


def _hand_over(rng: np.random.Generator, acc: _Accounts, people: _People) -> None:
    """Leavers' accounts go to their successors; other new hires get a few of their
    teammates' accounts on their first day."""
    n = people.n_sellers
    new_acc, new_seller, new_start, new_end = [], [], [], []
    end = acc.asg_end.copy()
    for s in range(n):
        succ = people.successor[s]
        if succ >= 0:
            rows = np.flatnonzero((acc.asg_seller == s) & (end > people.leave_b[s]))
            end[rows] = people.leave_b[s]
            new_acc.append(acc.asg_acc[rows])
            new_seller.append(np.full(rows.size, succ))
            new_start.append(np.full(rows.size, people.leave_b[s]))
            new_end.append(np.full(rows.size, _NEVER))
    inherits = set(people.successor[people.successor >= 0].tolist())
    for s in range(n):
        if people.hire_b[s] <= 0 or s in inherits:
            continue
        # The manager protects the star's book.
        mates = np.flatnonzero(
            (people.team[:n] == people.team[s])
            & (people.hire_b[:n] <= 0)
            & (np.arange(n) != people.star)
        )
        rows = np.flatnonzero(np.isin(acc.asg_seller, mates) & (end > people.hire_b[s]))
        take = rng.choice(rows, min(rows.size, 9), replace=False)
        take.sort()
        end[take] = people.hire_b[s]
        new_acc.append(acc.asg_acc[take])
        new_seller.append(np.full(take.size, s))
        new_start.append(np.full(take.size, people.hire_b[s]))
        new_end.append(np.full(take.size, _NEVER))
    acc.asg_end = end
    acc.asg_acc = np.concatenate([acc.asg_acc, *new_acc])
    acc.asg_seller = np.concatenate([acc.asg_seller, *new_seller])
    acc.asg_start = np.concatenate([acc.asg_start, *new_start])
    acc.asg_end = np.concatenate([acc.asg_end, *new_end])


def _add_accounts(
    acc: _Accounts,
    rng: np.random.Generator,
    tl: _Timeline,
    people: _People,
    owner: np.ndarray,
    created_b: np.ndarray,
    key: np.ndarray,
) -> np.ndarray:
    """Append new (prospect) accounts; returns their indices."""
    m = owner.size
    first = acc.key.size
    idx = first + np.arange(m)
    acc.key = np.concatenate([acc.key, key])
    acc.region = np.concatenate([acc.region, people.region[owner]])
    acc.industry = np.concatenate([acc.industry, rng.integers(len(_INDUSTRIES), size=m)])
    acc.created = np.concatenate([acc.created, tl.dates(created_b)])
    acc.created_b = np.concatenate([acc.created_b, created_b])
    acc.base = np.concatenate([acc.base, np.zeros(m, bool)])
    acc.contract_start = np.concatenate(
        [acc.contract_start, np.full(m, np.datetime64("NaT"), dtype="datetime64[D]")]
    )
    acc.base_acv = np.concatenate([acc.base_acv, np.full(m, np.nan)])
    # A new account follows its owner's successor if the owner leaves.
    succ = people.successor[owner]
    leave = people.leave_b[owner]
    moves = (succ >= 0) & (leave < _NEVER)
    end = np.where(moves, leave, _NEVER)
    acc.asg_acc = np.concatenate([acc.asg_acc, idx, idx[moves]])
    acc.asg_seller = np.concatenate([acc.asg_seller, owner, succ[moves]])
    acc.asg_start = np.concatenate([acc.asg_start, created_b, leave[moves]])
    acc.asg_end = np.concatenate([acc.asg_end, end, np.full(moves.sum(), _NEVER)])
    return idx


def _pick_accounts(
    rng: np.random.Generator,
    acc: _Accounts,
    seller: np.ndarray,
    b: np.ndarray,
    ready_b: np.ndarray,
    weight: np.ndarray,
) -> np.ndarray:
    """For each event, draw one account the seller owns at day ``b`` and that is
    ready (``ready_b <= b``), with probability proportional to ``weight``; -1 if none."""
    out = np.full(seller.size, -1, dtype=np.int64)
    u = 1.0 - rng.random(seller.size)  # in (0, 1], so a zero-weight row is never drawn
    order = np.argsort(seller, kind="stable")
    n_groups = int(seller.max()) + 1 if seller.size else 0
    bounds = np.searchsorted(seller[order], np.arange(n_groups + 1))
    for s in range(bounds.size - 1):
        ev = order[bounds[s] : bounds[s + 1]]
        if ev.size == 0:
            continue
        rows = np.flatnonzero(acc.asg_seller == s)
        if rows.size == 0:
            continue
        a = acc.asg_acc[rows]
        bb = b[ev][:, None]
        ok = (acc.asg_start[rows] <= bb) & (bb < acc.asg_end[rows]) & (ready_b[a] <= bb)
        cum = np.cumsum(ok * weight[a], axis=1)
        total = cum[:, -1]
        pick = (cum < (u[ev] * total)[:, None]).sum(axis=1)
        has = total > 0
        out[ev[has]] = a[pick[has]]
    return out


# --------------------------------------------------------------------------- funnel


@dataclass
class _Deals:
    """Opportunities as parallel arrays (business-day dates, seller indices)."""

    seller: np.ndarray
    account: np.ndarray
    created_b: np.ndarray
    source: np.ndarray  # index into _SOURCES, or len(_SOURCES) for account management
    product: np.ndarray
    amount: np.ndarray  # amount at close (if it closes won)
    win_shift: np.ndarray  # log-odds shift per stage


def _draw_products(rng: np.random.Generator, key: np.ndarray, created_b: np.ndarray) -> np.ndarray:
    """Product per deal: key accounts buy the platform more, and the platform's share
    grows every year (the company's strategic mix shift)."""
    years = created_b / _BD_YEAR
    p_iot = np.where(key, 0.46, 0.20) + 0.035 * years
    p_sen = np.where(key, 0.32, 0.50) - 0.025 * years
    u = rng.random(key.size)
    line = np.where(u < p_sen, 0, np.where(u < p_sen + p_iot, 1, 2))
    within = rng.random(key.size)
    # products of each line in _PRODUCTS order: 3 sensors, 3 platform, 2 services
    prod = np.where(
        line == 0,
        (within * 3).astype(int),
        np.where(line == 1, 3 + (within * 3).astype(int), 6 + (within * 2).astype(int)),
    )
    return np.minimum(prod, len(_PRODUCTS) - 1)


_KEY_MEDIAN = 3.5e5  # deal size medians before product, territory and skill effects
_SMB_MEDIAN = 1.3e5


def _draw_amounts(
    rng: np.random.Generator,
    people: _People,
    seller: np.ndarray,
    key: np.ndarray,
    product: np.ndarray,
    created_b: np.ndarray,
) -> np.ndarray:
    """Deal size: lognormal, skewed; key accounts, the platform and skilled
    consultants make bigger deals; sizes creep up with prices over time."""
    size = np.array([p[6] for p in _PRODUCTS])[product]
    mu = (
        np.where(key, np.log(_KEY_MEDIAN), np.log(_SMB_MEDIAN))
        + np.log(size)
        + 0.02 * people.skill[seller]
        + 0.03 * created_b / _BD_YEAR
    )
    amount = np.exp(mu + rng.normal(0, 0.42, key.size))
    amount = np.clip(amount, np.where(key, 6e4, 1.5e4), np.where(key, 2.5e6, 1.0e6))
    return np.round(amount, -2)


@dataclass
class _Paths:
    """Simulated life of each deal, in business days (may run past as_of)."""

    outcome: np.ndarray  # number of stages advanced: 4 = won, else lost at that stage
    top: np.ndarray  # highest open stage reached (0..3)
    entry: np.ndarray  # (n, 4) day each open stage was entered (_NONE if never)
    close_b: np.ndarray
    ecd0: np.ndarray
    push_b: np.ndarray  # (n, 4), _NONE where no push
    push_ecd: np.ndarray  # (n, 4)
    amount0: np.ndarray
    quote: np.ndarray
    nego: np.ndarray  # amount on entering negotiation


def _simulate_paths(
    rng: np.random.Generator, people: _People, acc: _Accounts, tl: _Timeline, deals: _Deals
) -> _Paths:
    """Walk every deal through the funnel: stages, slippage, close, amount changes."""
    n = deals.seller.size
    c = deals.created_b
    key = acc.key[deals.account]
    z = people.skill[deals.seller]

    # Reps plan for a typical cycle and are optimistic about it.
    planned = np.maximum(10, np.round(np.where(key, 62, 42) * np.exp(rng.normal(-0.12, 0.3, n))))
    ecd0 = c + planned.astype(np.int64)
    # Slippage: a first push for about four deals in ten, then each push makes the
    # next one likelier (half of the pushed deals slip again).
    p_first = 1 / (1 + np.exp(-(np.log(0.46 / 0.54) + 0.35 * key - 0.15 * z)))
    k = np.where(rng.random(n) < p_first, np.minimum(rng.geometric(0.5, n), 4), 0)
    delay = rng.integers(-7, 11, (n, 4))  # pushes happen around the old date, sometimes late
    size = np.maximum(delay, 0) + rng.integers(10, 36, (n, 4))
    has = np.arange(4)[None, :] < k[:, None]
    size = np.where(has, size, 0)
    ecd_after = ecd0[:, None] + np.cumsum(size, axis=1)
    ecd_before = np.concatenate([ecd0[:, None], ecd_after[:, :-1]], axis=1)
    push_b = np.where(has, ecd_before + delay, _NONE)
    ecd_final = ecd_after[:, -1]

    # Funnel: customers spend year-end budgets, so deals expected to land in
    # November-December are a little likelier to be won.
    month, _ = _month_year(tl.dates(ecd_final))
    budget = np.where(month >= 11, 0.25, 0.0)
    logits = _ADVANCE_LOGIT[None, :] + deals.win_shift[:, None]
    logits[:, 2:] += budget[:, None]
    adv = rng.random((n, 4)) < 1 / (1 + np.exp(-logits))
    outcome = np.cumprod(adv, axis=1).sum(axis=1)
    won = outcome == 4
    top = np.minimum(outcome, 3)
    last_push = np.where(k > 0, push_b.max(axis=1), c)  # absent pushes are _NONE

    close_won = ecd_final + rng.integers(-8, 6, n)
    frac = rng.uniform(0.25, 1.1, n)
    close_lost = c + np.round((ecd_final - c) * frac).astype(np.int64)
    # Some lost deals linger in the CRM long after they died, until a clean-up.
    zombie = rng.random(n) < 0.12
    close_lost = np.where(zombie, close_lost + rng.integers(40, 160, n), close_lost)
    close = np.where(won, np.maximum(close_won, last_push + 1), close_lost)
    close = np.maximum(close, c + top + 1)

    # Quarter-end push: some wins due early in a quarter are pulled into the last
    # days of the previous one; at year end from further into January.
    cd = tl.dates(close)
    month, year = _month_year(cd)
    q_first_month = (month - 1) // 3 * 3 + 1
    q_start = tl.index(_month_starts(year, q_first_month))
    into = close - q_start
    year_end = q_first_month == 1
    pull = won & (into < np.where(year_end, 25, 8)) & (rng.random(n) < 0.15)
    new_close = q_start - rng.integers(1, 8, n) - year_end * rng.integers(0, 8, n)
    pull &= new_close >= c + top + 1
    close = np.where(pull, new_close, close)

    # Pushes after the close never happened.
    has &= push_b < close[:, None]
    push_b = np.where(has, push_b, _NONE)
    push_ecd = np.where(has, ecd_after, _NONE)

    # Stage entries strictly between creation and close, split by time-in-stage.
    g = rng.gamma(_STAGE_TIME[None, :], 1.0, (n, 4))
    g = np.where(np.arange(4)[None, :] <= top[:, None], g, 0.0)
    cum = np.cumsum(g, axis=1) / g.sum(axis=1, keepdims=True)
    span = close - c
    slack = (span - top - 1)[:, None]
    steps = np.arange(4)[None, :]
    entry_k = (
        c[:, None]
        + steps
        + np.floor(np.concatenate([np.zeros((n, 1)), cum[:, :-1]], axis=1) * slack).astype(np.int64)
    )
    entry = np.where(steps <= top[:, None], entry_k, _NONE)
    entry[:, 0] = c

    amount0 = np.maximum(1000.0, np.round(deals.amount * np.exp(rng.normal(0.06, 0.2, n)), -3))
    quote = np.maximum(1000.0, np.round(deals.amount * np.exp(rng.normal(0.03, 0.05, n)), -2))
    nego = np.where(rng.random(n) < 0.5, deals.amount, quote)
    return _Paths(
        outcome=outcome,
        top=top,
        entry=entry,
        close_b=close,
        ecd0=ecd0,
        push_b=push_b,
        push_ecd=push_ecd,
        amount0=amount0,
        quote=quote,
        nego=nego,
    )


def _first_of_group(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` within runs of equal ``keys``, excluding the current row."""
    csum = np.cumsum(values)
    starts = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1]
    base = np.repeat(csum[starts] - values[starts], np.diff(np.r_[starts, keys.size]))
    return csum - base - values


def _manage_quarters(
    rng: np.random.Generator, tl: _Timeline, people: _People, deals: _Deals, paths: _Paths
) -> None:
    """Reps manage their quarters: the ahead sandbag, the behind pull deals in.

    A rep whose won revenue in a quarter exceeds 1.05 times their seasonal run rate
    holds back wins of the quarter's last five weeks, latest first, until the
    excess is covered: each gets a close-date push into the first days of the next
    quarter. A rep below 0.85 times the run rate pulls wins of the next quarter's
    first three weeks into the last days of this one, until the shortfall is
    covered. Neither moves more than the next quarter has room (or spare) for.
    Modifies ``paths`` in place.
    """
    won = (paths.outcome == 4) & (paths.close_b >= -tl.warm) & (paths.close_b <= tl.as_of_b)
    idx = np.flatnonzero(won)
    if idx.size == 0:
        return
    close = paths.close_b[idx]
    seller = _owner_at(people, deals.seller[idx], close)
    month, year = _month_year(tl.dates(close))
    y0 = int(year.min())
    quarter = (year - y0) * 4 + (month - 1) // 3
    n_q = int(quarter.max()) + 2
    q = np.arange(n_q + 1)
    q_start = tl.index(_month_starts(y0 + q // 4, q % 4 * 3 + 1))  # q_start[k+1] ends quarter k
    amount = paths.nego[idx]
    revenue = np.zeros((people.n_sellers, n_q))
    np.add.at(revenue, (seller, quarter), amount)
    season = np.array([0.85, 1.0, 1.0, 1.2])[np.arange(n_q) % 4]
    selling = revenue > 0
    run_rate = revenue.sum(1) / np.maximum((selling * season).sum(1), 1e-9)
    expected = run_rate[:, None] * season[None, :]
    # The history's last quarter is still running: nobody manages it yet.
    as_of_month, as_of_year = _month_year(np.array([tl.as_of]))
    last_q = int((as_of_year[0] - y0) * 4 + (as_of_month[0] - 1) // 3)
    managed = np.arange(n_q) < last_q
    # Deals move only as far as the next quarter has room for (or to spare).
    # The running quarter counts at its run rate so far.
    elapsed = (tl.as_of_b - q_start[last_q] + 1) / (q_start[last_q + 1] - q_start[last_q])
    scaled = revenue.copy()
    scaled[:, last_q] /= max(elapsed, 1e-9)
    nxt = np.concatenate([scaled[:, 1:], np.zeros((revenue.shape[0], 1))], axis=1)
    nxt_expected = np.concatenate([expected[:, 1:], expected[:, -1:]], axis=1)
    excess = np.where(
        managed, np.minimum(revenue - 1.05 * expected, 1.05 * nxt_expected - nxt), 0.0
    )
    shortfall = np.where(
        managed, np.minimum(0.85 * expected - revenue, nxt - 0.85 * nxt_expected), 0.0
    )

    # Hold back: latest wins first until the excess is covered.
    cand = np.flatnonzero((close >= q_start[quarter + 1] - 25) & (excess[seller, quarter] > 0))
    cand = cand[np.lexsort((-close[cand], quarter[cand], seller[cand]))]
    prior = _first_of_group(seller[cand] * n_q + quarter[cand], amount[cand])
    held = cand[prior < excess[seller[cand], quarter[cand]]]
    deal = idx[held]
    slot = (paths.push_b[deal] > _NONE).sum(1)
    new_close = q_start[quarter[held] + 1] + rng.integers(0, 8, deal.size)
    new_ecd = new_close + rng.integers(0, 4, deal.size)
    last_push = np.where(slot > 0, paths.push_b[deal].max(1), deals.created_b[deal])
    push_day = np.maximum(close[held] - rng.integers(0, 3, deal.size), last_push + 1)
    ecd = np.maximum(paths.ecd0[deal], paths.push_ecd[deal].max(1))
    # The CRM shows a push only when the new date is later than the expected one.
    push = ecd < new_ecd
    ok = ~push | ((slot < 4) & (push_day < new_close))
    pushed = ok & push
    paths.push_b[deal[pushed], slot[pushed]] = push_day[pushed]
    paths.push_ecd[deal[pushed], slot[pushed]] = new_ecd[pushed]
    paths.close_b[deal[ok]] = new_close[ok]
    moved = np.zeros(idx.size, bool)
    moved[held[ok]] = True

    # Pull in: earliest wins of the next quarter first, until the shortfall is covered.
    prev = quarter - 1
    cand = np.flatnonzero(
        ~moved
        & (prev >= 0)
        & (close < q_start[quarter] + 15)
        & (shortfall[seller, np.maximum(prev, 0)] > 0)
    )
    cand = cand[np.lexsort((close[cand], prev[cand], seller[cand]))]
    prior = _first_of_group(seller[cand] * n_q + prev[cand], amount[cand])
    pulled = cand[prior < shortfall[seller[cand], prev[cand]]]
    deal = idx[pulled]
    new_close = q_start[quarter[pulled]] - rng.integers(1, 6, deal.size)
    top = paths.top[deal]
    last_step = np.maximum(paths.entry[deal, top], paths.push_b[deal].max(1))
    ok = new_close > last_step
    paths.close_b[deal[ok]] = new_close[ok]


def _month_starts(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """First calendar day of each (year, month)."""
    d = (np.asarray(year) - 1970) * 12 + (np.asarray(month) - 1)
    return d.astype("datetime64[M]").astype("datetime64[D]")


def _concat_deals(parts: list[_Deals]) -> _Deals:
    """Stack several batches of deals."""
    return _Deals(
        *[
            np.concatenate([getattr(p, f) for p in parts])
            for f in ("seller", "account", "created_b", "source", "product", "amount", "win_shift")
        ]
    )


def _concat_paths(parts: list[_Paths]) -> _Paths:
    """Stack the paths of several batches of deals."""
    return _Paths(
        *[np.concatenate([getattr(p, f) for p in parts]) for f in _Paths.__dataclass_fields__]
    )


# --------------------------------------------------------------------------- demand


@dataclass(frozen=True)
class _World:
    """What every stage of the simulation shares."""

    tl: _Timeline
    people: _People
    acc: _Accounts
    active: np.ndarray  # (seller, day) employed
    ramp: np.ndarray  # (seller, day) productivity of new hires and leavers
    season: np.ndarray  # (1, day) seasonality and growth


@dataclass(frozen=True)
class _Leads:
    """Marketing leads as parallel arrays (warm-up included)."""

    seller: np.ndarray
    b: np.ndarray  # created (business day)
    source: np.ndarray  # index into _SOURCES
    qualified: np.ndarray
    converts: np.ndarray  # will convert (perhaps after as_of)
    converted: np.ndarray  # converted by as_of
    conv_b: np.ndarray
    key: np.ndarray  # key-account lead


def _draw_leads(rng: np.random.Generator, world: _World) -> _Leads:
    """Leads arrive per business day; sources differ in how often marketing
    qualifies them and how often a qualified lead converts."""
    tl, people, w = world.tl, world.people, world.tl.warm
    rate = (
        0.60
        * world.active
        * world.season
        * (0.3 + 0.7 * world.ramp)
        * _struggle_factor(people, tl, "lead")
    )
    seller, b = _poisson_events(rng, rate, -w)
    n = seller.size
    source = rng.choice(len(_SOURCES), n, p=_SOURCE_SHARE)
    qualified = rng.random(n) < _SOURCE_QUALIFY[source]
    conv_p = (
        _SOURCE_CONVERT[source]
        * np.exp(0.08 * people.skill[seller])
        * world.ramp[seller, b + w] ** 0.5
        * _struggle_factor(people, tl, "convert")[seller, b + w]
    )
    conv_b = b + rng.integers(2, 20, n)
    converts = qualified & (rng.random(n) < conv_p)
    key = rng.random(n) < 0.12
    return _Leads(
        seller=seller,
        b=b,
        source=source,
        qualified=qualified,
        converts=converts,
        converted=converts & (conv_b <= tl.as_of_b),
        conv_b=conv_b,
        key=key,
    )


def _win_shift(
    world: _World,
    seller: np.ndarray,
    b: np.ndarray,
    account: np.ndarray,
    source_effect: np.ndarray | float,
) -> np.ndarray:
    """Log-odds shift of each stage's advance: skill, the lead source, key accounts
    (harder to win), ramping new hires and struggling consultants."""
    w = world.tl.warm
    return (
        0.07 * world.people.skill[seller]
        + source_effect
        - 0.1 * world.acc.key[account]
        - 0.5 * (1 - world.ramp[seller, b + w])
        + _struggle_factor(world.people, world.tl, "win")[seller, b + w]
    )


def _lead_deals(
    rng: np.random.Generator, world: _World, leads: _Leads
) -> tuple[_Deals, np.ndarray]:
    """Opportunities from converted leads, and the lead of each.

    About one in seven lands on a brand-new account; the rest on accounts the rep
    already has, mostly the younger ones (where the relationship is still being
    built and marketing reaches more people). Modifies ``world.acc`` (new accounts)
    and ``leads.key`` (a lead on an existing account takes its type).
    """
    tl, people, acc = world.tl, world.people, world.acc
    cv = np.flatnonzero(leads.converted)
    seller = _owner_at(people, leads.seller[cv], leads.conv_b[cv])
    b = leads.conv_b[cv]
    new_acc = rng.random(cv.size) < 0.14
    account = np.full(cv.size, -1, dtype=np.int64)
    fresh = np.flatnonzero(new_acc)
    account[fresh] = _add_accounts(
        acc, rng, tl, people, seller[fresh], b[fresh], leads.key[cv[fresh]]
    )
    existing = np.flatnonzero(~new_acc)
    account[existing] = _pick_accounts(
        rng,
        acc,
        seller[existing],
        b[existing],
        acc.created_b + 5,
        np.where(acc.key, 2.0, 1.0) * np.where(acc.base, 1.0, 6.0),
    )
    left = np.flatnonzero(account < 0)
    account[left] = _add_accounts(acc, rng, tl, people, seller[left], b[left], leads.key[cv[left]])
    leads.key[cv] = acc.key[account]
    key = acc.key[account]
    product = _draw_products(rng, key, b)
    amount = _draw_amounts(rng, people, seller, key, product, b)
    # A new logo usually starts with a bundle (platform, sensors and set-up).
    young = ~acc.base[account]
    amount[young] = np.round(amount[young] * 1.7, -2)
    deals = _Deals(
        seller=seller,
        account=account,
        created_b=b,
        source=leads.source[cv],
        product=product,
        amount=amount,
        win_shift=_win_shift(world, seller, b, account, _SOURCE_WIN[leads.source[cv]]),
    )
    return deals, cv


def _account_deals(rng: np.random.Generator, world: _World, first_win: np.ndarray) -> _Deals:
    """Repeat business that account management finds on accounts that have bought
    (``first_win`` is the day each account first bought)."""
    tl, people, acc = world.tl, world.people, world.acc
    n_sel = people.n_sellers
    rate = (
        0.88
        * world.active
        * world.season
        * world.ramp
        * people.territory[:n_sel, None]
        * np.exp(0.03 * people.skill[:n_sel, None])
        * _struggle_factor(people, tl, "account")
    )
    seller, b = _regular_events(rng, rate, -tl.warm)
    # Two in five repeat deals come from key accounts, however many small accounts
    # a book accumulates: account plans give key accounts a steady share of the
    # rep's time (a low-discrepancy sequence per rep rather than coin flips).
    order = np.lexsort((b, seller))
    nth = np.empty(seller.size, dtype=np.int64)
    nth[order] = np.arange(seller.size) - np.searchsorted(seller[order], seller[order])
    phase = rng.random(n_sel)[seller]
    want_key = (nth * 0.4 + phase) % 1.0 < 0.4
    account = np.full(seller.size, -1, dtype=np.int64)
    for wanted, weight in ((want_key, acc.key * 1.0), (~want_key, ~acc.key * 1.0)):
        sel = np.flatnonzero(wanted)
        account[sel] = _pick_accounts(rng, acc, seller[sel], b[sel], first_win, weight)
    none = np.flatnonzero(account < 0)
    account[none] = _pick_accounts(
        rng, acc, seller[none], b[none], first_win, np.ones(acc.key.size)
    )
    keep = account >= 0
    seller, b, account = seller[keep], b[keep], account[keep]
    key = acc.key[account]
    product = _draw_products(rng, key, b)
    amount = _draw_amounts(rng, people, seller, key, product, b)
    return _Deals(
        seller=seller,
        account=account,
        created_b=b,
        source=np.full(seller.size, len(_SOURCES)),
        product=product,
        amount=amount,
        win_shift=_win_shift(world, seller, b, account, _ACCOUNT_SOURCE_WIN),
    )


# --------------------------------------------------------------------------- generator


def generate_demo(seed: int = DEMO_SEED, as_of: dt.date = DEMO_AS_OF) -> dict[str, pd.DataFrame]:
    """Generate the demo company's canonical tables.

    Parameters
    ----------
    seed : int, default DEMO_SEED
        Seed of the random generator; the same seed gives identical tables.
    as_of : datetime.date, default DEMO_AS_OF
        Last day of data. The history starts on 1 January two years earlier, so the
        default gives 2024, 2025 and 2026 to 20 November. Must lie in 2021-2031.

    Returns
    -------
    dict of str to pandas.DataFrame
        One frame per table of :data:`simlib.data.schema.TABLES`, in that order, with
        exactly the canonical columns, sorted by primary key. Ids and text are
        strings, dates are ``datetime64[ns]`` at midnight, money is float64 in
        cents, booleans are the nullable ``boolean`` dtype.

    Raises
    ------
    TypeError
        If ``seed`` is not an integer or ``as_of`` not a date.
    ValueError
        If ``seed`` is negative or ``as_of`` outside 2021-2031.

    Examples
    --------
    >>> tables = generate_demo()
    >>> sorted(tables) == sorted(TABLES)
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"The `seed` parameter of `generate_demo` must be an int. Got {seed!r} instead."
        )
    if seed < 0:
        raise ValueError(
            f"The `seed` parameter of `generate_demo` must be >= 0. Got {seed} instead."
        )
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if not isinstance(as_of, dt.date):
        raise TypeError(
            f"The `as_of` parameter of `generate_demo` must be a datetime.date. "
            f"Got {as_of!r} instead."
        )
    if not _FIRST_AS_OF <= as_of <= _LAST_AS_OF:
        raise ValueError(
            f"The `as_of` parameter of `generate_demo` must be between "
            f"{_FIRST_AS_OF} and {_LAST_AS_OF}. Got {as_of} instead."
        )

    streams = np.random.SeedSequence(int(seed)).spawn(10)
    r_people, r_acc, r_leads, r_conv, r_acct, r_path, r_act, r_inv, r_nps, r_tgt = (
        np.random.default_rng(s) for s in streams
    )

    tl = _timeline(as_of)
    people = _make_people(r_people, tl, as_of)
    active, ramp = _seller_days(people, tl)
    acc = _base_accounts(r_acc, people, tl)
    _hand_over(r_acc, acc, people)
    world = _World(tl, people, acc, active, ramp, _season(tl)[None, :])

    leads = _draw_leads(r_leads, world)
    deals_a, lead_of_deal_a = _lead_deals(r_conv, world, leads)
    paths_a = _simulate_paths(r_path, people, acc, tl, deals_a)
    # Accounts become repeat-purchase prospects once they have bought.
    first_win = np.full(acc.key.size, _NEVER, dtype=np.int64)
    won_a = paths_a.outcome == 4
    np.minimum.at(first_win, deals_a.account[won_a], paths_a.close_b[won_a])
    first_win[acc.base] = -_NEVER
    deals_b = _account_deals(r_acct, world, first_win)
    paths_b = _simulate_paths(r_path, people, acc, tl, deals_b)

    deals = _concat_deals([deals_a, deals_b])
    paths = _concat_paths([paths_a, paths_b])
    lead_of_deal = np.concatenate([lead_of_deal_a, np.full(deals_b.seller.size, -1)])
    # Leads from before the history are not in the CRM extract.
    lead_of_deal = np.where(leads.b[np.maximum(lead_of_deal, 0)] >= 0, lead_of_deal, -1)
    _manage_quarters(r_path, tl, people, deals, paths)
    first_win = np.full(acc.key.size, _NEVER, dtype=np.int64)
    won = paths.outcome == 4
    np.minimum.at(first_win, deals.account[won], paths.close_b[won])
    # Deals closed during the warm-up are history before the history: dropped. Those
    # still open on its first day are the opening pipeline. Opportunity ids follow
    # creation order.
    kept = np.flatnonzero(paths.close_b >= 0)
    order = kept[np.lexsort((kept, deals.seller[kept], deals.created_b[kept]))]
    deals = _Deals(*[getattr(deals, f)[order] for f in _Deals.__dataclass_fields__])
    paths = _Paths(*[getattr(paths, f)[order] for f in _Paths.__dataclass_fields__])
    lead_of_deal = lead_of_deal[order]
    opp_ids = np.array([f"OPP{i + 1:06d}" for i in range(deals.seller.size)], dtype=object)
    deal_of_lead = np.full(leads.b.size, -1, dtype=np.int64)
    has_lead = lead_of_deal >= 0
    deal_of_lead[lead_of_deal[has_lead]] = np.flatnonzero(has_lead)

    won = paths.outcome == 4
    closed = paths.close_b <= tl.as_of_b
    # The owner of record: whoever holds the deal when it closes (or now, if open).
    deal_owner = _owner_at(people, deals.seller, np.minimum(paths.close_b, tl.as_of_b))

    tables: dict[str, pd.DataFrame] = {}
    tables["org"] = _org_table()
    tables["reps"] = people.reps
    tables["products"] = pd.DataFrame(
        [p[:6] for p in _PRODUCTS],
        columns=["product_id", "name", "name_zh", "product_line", "unit_price", "gross_margin_pct"],
    )

    sh, state = _stage_history(paths, tl, opp_ids)
    tables["stage_history"] = sh
    cust_ids = _customer_ids(acc)
    cust_names, cust_short = _customer_names(r_acc, acc)
    tables["opportunities"] = _opportunity_table(
        deals, paths, state, tl, people, acc, opp_ids, cust_ids, deal_owner, first_win, cust_short
    )
    tables["customers"] = _customer_table(
        acc, people, tl, deals, paths, first_win, cust_ids, cust_names
    )
    tables["leads"] = _lead_table(r_leads, tl, people, leads, deal_of_lead, opp_ids, deals)
    tables["activities"] = _activity_table(r_act, world, cust_ids, deals, paths, opp_ids)
    inv, pay = _invoice_tables(
        r_inv, tl, people, deals, paths, deal_owner, opp_ids, cust_ids, won & closed
    )
    tables["invoices"], tables["payments"] = inv, pay
    tables["nps"] = _nps_table(r_nps, tl, people, deals, paths, deal_owner, cust_ids, won & closed)
    tables["targets"] = _target_table(r_tgt, tl, people, paths, deal_owner, won & closed, as_of)
    # the demo company has had no cancelled deals (a reversals table in the data, or in
    # compute_statements(reversals=...), drives clawbacks)
    tables["reversals"] = pd.DataFrame(columns=TABLES["reversals"].column_names)
    return {name: _coerce(tables[name], TABLES[name]) for name in TABLES}


# --------------------------------------------------------------------------- tables


def _org_table() -> pd.DataFrame:
    """Company, regions and teams."""
    rows = [("CO", None, "company", "Huaxia Smart Systems", "华夏智能系统")]
    rows += [(r[0], "CO", "region", r[1], r[2]) for r in _REGIONS]
    rows += [(t[0], t[1], "team", f"{t[2]} Team", f"{t[3]}一部") for t in _TEAMS]
    return pd.DataFrame(rows, columns=["node_id", "parent_id", "level", "name", "name_zh"])


def _stage_history(
    paths: _Paths, tl: _Timeline, opp_ids: np.ndarray
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """One row per day an opportunity changed, as known then; and the state at as_of."""
    n = paths.close_b.size
    ids = np.arange(n)
    nan = np.full(n, np.nan)
    parts = []  # (deal, day, order, stage, amount, ecd)

    def add(mask, day, order, stage, amount, ecd):
        parts.append(
            (ids[mask], day[mask], np.full(mask.sum(), order), stage[mask], amount[mask], ecd[mask])
        )

    all_ = np.ones(n, bool)
    add(all_, paths.entry[:, 0], 0, np.zeros(n), paths.amount0, paths.ecd0.astype(float))
    stage_amount = {1: nan, 2: paths.quote, 3: paths.nego}
    for s in (1, 2, 3):
        add(paths.top >= s, paths.entry[:, s], 1, np.full(n, float(s)), stage_amount[s], nan)
    for j in range(4):
        add(
            paths.push_b[:, j] > _NONE,
            paths.push_b[:, j],
            2,
            nan,
            nan,
            paths.push_ecd[:, j].astype(float),
        )
    won = paths.outcome == 4
    final_amount = np.where(won, np.where(paths.top >= 3, paths.nego, paths.quote), nan)
    # A won deal's amount at close is the negotiated amount.
    add(all_, paths.close_b, 3, np.where(won, 4.0, 5.0), final_amount, nan)

    deal, day, order, stage, amount, ecd = (np.concatenate([p[i] for p in parts]) for i in range(6))
    seen = day <= tl.as_of_b
    deal, day, order, stage, amount, ecd = (a[seen] for a in (deal, day, order, stage, amount, ecd))
    srt = np.lexsort((order, day, deal))
    deal, day, stage, amount, ecd = deal[srt], day[srt], stage[srt], amount[srt], ecd[srt]
    # Forward-fill within each deal; every deal's first row (creation) is complete.
    for arr in (stage, amount, ecd):
        valid = ~np.isnan(arr)
        idx = np.maximum.accumulate(np.where(valid, np.arange(arr.size), 0))
        arr[:] = arr[idx]
    last_of_day = np.ones(deal.size, bool)
    last_of_day[:-1] = (deal[1:] != deal[:-1]) | (day[1:] != day[:-1])
    deal, day, stage, amount, ecd = (a[last_of_day] for a in (deal, day, stage, amount, ecd))
    last = np.ones(deal.size, bool)
    last[:-1] = deal[1:] != deal[:-1]
    state = {
        "stage": stage[last].astype(np.int64),
        "amount": amount[last],
        "ecd": ecd[last].astype(np.int64),
    }
    stages = np.array(STAGES, dtype=object)
    sh = pd.DataFrame(
        {
            "opportunity_id": opp_ids[deal],
            "changed_date": tl.dates(day),
            "stage": stages[stage.astype(np.int64)],
            "amount": amount,
            "expected_close_date": tl.dates(ecd.astype(np.int64)),
        }
    )
    return sh, state


def _customer_names(rng: np.random.Generator, acc: _Accounts) -> tuple[np.ndarray, np.ndarray]:
    """Unique company names: city, brand, qualifier and trade; key accounts are groups."""
    n = acc.key.size
    names = np.empty(n, dtype=object)
    short = np.empty(n, dtype=object)
    qualifiers = ("", " Hi-Tech", " Industrial", " Smart")
    for r, (rid, *_rest) in enumerate(_REGIONS):
        members = np.flatnonzero(acc.region == r)
        cities = _CITIES[rid]
        # (city, brand, qualifier) is unique within a region; the trade word follows
        # the account's industry.
        space = len(cities) * len(_BRANDS) * len(qualifiers)
        combo = rng.choice(space, members.size, replace=False)
        city = combo % len(cities)
        brand = (combo // len(cities)) % len(_BRANDS)
        qual = combo // (len(cities) * len(_BRANDS))
        word_pick = rng.integers(0, 6, members.size)
        for m, ci, bi, qi, wi in zip(members, city, brand, qual, word_pick):
            words = _INDUSTRIES[acc.industry[m]][1]
            word = words[wi % len(words)]
            short[m] = f"{_BRANDS[bi]}{qualifiers[qi]} {word}"
            names[m] = f"{cities[ci]} {short[m]} {'Group ' if acc.key[m] else ''}Co., Ltd."
    return names, short


def _opportunity_table(
    deals: _Deals,
    paths: _Paths,
    state: dict,
    tl: _Timeline,
    people: _People,
    acc: _Accounts,
    opp_ids: np.ndarray,
    cust_ids: np.ndarray,
    owner: np.ndarray,
    first_win: np.ndarray,
    cust_short: np.ndarray,
) -> pd.DataFrame:
    """Each opportunity as of as_of: its current stage, amount and expected close."""
    closed = paths.close_b <= tl.as_of_b
    stages = np.array(STAGES, dtype=object)
    stage = stages[state["stage"]]
    source = np.array(_SOURCES + (_ACCOUNT_SOURCE,), dtype=object)[deals.source]
    # New business until the account's first win (that win included).
    new_customer = ~acc.base[deals.account] & (deals.created_b <= first_win[deals.account])
    product_names = np.array([p[1] for p in _PRODUCTS], dtype=object)
    return pd.DataFrame(
        {
            "opportunity_id": opp_ids,
            "name": cust_short[deals.account] + " - " + product_names[deals.product],
            "customer_id": cust_ids[deals.account],
            "owner_id": people.rep_id[owner],
            "product_id": np.array([p[0] for p in _PRODUCTS], dtype=object)[deals.product],
            "amount": state["amount"],
            "stage": stage,
            "created_date": tl.dates(deals.created_b),
            "expected_close_date": tl.dates(state["ecd"]),
            "close_date": np.where(closed, tl.dates(paths.close_b), np.datetime64("NaT")),
            "lead_source": source,
            "deal_type": np.where(new_customer, "new_customer", "existing_customer"),
            "probability": pd.Series(stage).map(_STAGE_PROBABILITY).to_numpy(float),
        }
    )


def _customer_ids(acc: _Accounts) -> np.ndarray:
    """Ids in order of account creation (base accounts are older than new ones)."""
    order = np.lexsort((np.arange(acc.key.size), acc.created))
    ids = np.empty(acc.key.size, dtype=object)
    ids[order] = [f"C{i + 1:05d}" for i in range(acc.key.size)]
    return ids


def _customer_table(
    acc: _Accounts,
    people: _People,
    tl: _Timeline,
    deals: _Deals,
    paths: _Paths,
    first_win: np.ndarray,
    cust_id: np.ndarray,
    names: np.ndarray,
) -> pd.DataFrame:
    """Accounts with their current owner, renewal date and contract value."""
    n = acc.key.size
    now = (acc.asg_start <= tl.as_of_b) & (tl.as_of_b < acc.asg_end)
    owner = np.full(n, -1, dtype=np.int64)
    owner[acc.asg_acc[now]] = acc.asg_seller[now]
    won = (paths.outcome == 4) & (paths.close_b <= tl.as_of_b)
    first_close = np.where(first_win <= tl.as_of_b, first_win, _NEVER)
    recent = won & (paths.close_b > tl.as_of_b - _BD_YEAR)
    last_year = np.bincount(deals.account[recent], weights=paths.nego[recent], minlength=n)
    buyer = acc.base | (first_close < _NEVER)
    start = np.where(acc.base, acc.contract_start, tl.dates(np.minimum(first_close, tl.as_of_b)))
    # Yearly contracts renew on the anniversary of the first contract.
    s = pd.to_datetime(start)
    day = np.where((s.month == 2) & (s.day == 29), 28, s.day)
    this_year = pd.to_datetime(
        pd.DataFrame({"year": tl.as_of.astype(object).year, "month": s.month, "day": day})
    )
    renewal = this_year.to_numpy(dtype="datetime64[D]")
    renewal = np.where(
        renewal <= tl.as_of,
        (this_year + pd.DateOffset(years=1)).to_numpy(dtype="datetime64[D]"),
        renewal,
    )
    # Contract value: the recurring share of the last year's purchases, or the
    # legacy contract for older accounts that bought nothing lately.
    acv = np.where(last_year > 0, np.round(0.35 * last_year, -2), acc.base_acv)
    acv = np.where(buyer, acv, np.nan)
    return pd.DataFrame(
        {
            "customer_id": cust_id,
            "name": names,
            "region_id": np.array([r[0] for r in _REGIONS], dtype=object)[acc.region],
            "customer_type": np.where(acc.key, "key_account", "smb"),
            "industry": np.array([i[0] for i in _INDUSTRIES], dtype=object)[acc.industry],
            "owner_id": np.where(owner >= 0, people.rep_id[np.maximum(owner, 0)], None),
            "created_date": acc.created,
            "renewal_date": np.where(buyer, renewal, np.datetime64("NaT")),
            "annual_contract_value": acv,
        }
    )


def _lead_table(
    rng: np.random.Generator,
    tl: _Timeline,
    people: _People,
    leads: _Leads,
    deal_of_lead: np.ndarray,
    opp_ids: np.ndarray,
    deals: _Deals,
) -> pd.DataFrame:
    """Leads created in the history, with status and follow-up as of as_of."""
    # Leads from before the history are not in the CRM extract.
    keep = leads.b >= 0
    seller, b, source, qualified, key, converts, converted, conv_b, deal_of_lead = (
        a[keep]
        for a in (
            leads.seller,
            leads.b,
            leads.source,
            leads.qualified,
            leads.key,
            leads.converts,
            leads.converted,
            leads.conv_b,
            deal_of_lead,
        )
    )
    n = seller.size
    # Estimated value: what marketing guessed; the eventual deal is near it.
    est = np.exp(rng.normal(np.where(key, np.log(_KEY_MEDIAN), np.log(_SMB_MEDIAN)), 0.6))
    has_deal = deal_of_lead >= 0
    noise = np.exp(rng.normal(0, 0.3, has_deal.sum()))
    est[has_deal] = deals.amount[deal_of_lead[has_deal]] * noise
    est = np.round(est, -3)
    # Leads not converted are disqualified after a while, unless still being worked;
    # a few are forgotten and stay open with an overdue follow-up.
    decide_b = b + rng.integers(5, 45, n)
    forgotten = rng.random(n) < 0.03
    pending = converts & ~converted  # will convert after as_of
    disq = ~converted & ~pending & (decide_b <= tl.as_of_b) & ~forgotten
    status = np.where(converted, "converted", np.where(disq, "disqualified", "open"))
    is_open = status == "open"
    age = np.maximum(tl.as_of_b - b, 0)
    last_touch = b + np.floor(rng.random(n) * (age + 1)).astype(np.int64)
    followup_b = last_touch + rng.integers(2, 15, n)
    followup = np.where(is_open, tl.dates(followup_b), np.datetime64("NaT"))
    # Whoever holds the lead now (or held it when it converted).
    rep = _owner_at(people, seller, np.where(converted, conv_b, tl.as_of_b))
    order = np.lexsort((np.arange(n), seller, b))
    lead_ids = np.empty(n, dtype=object)
    lead_ids[order] = [f"L{i + 1:06d}" for i in range(n)]
    return pd.DataFrame(
        {
            "lead_id": lead_ids,
            "rep_id": people.rep_id[rep],
            "created_date": tl.dates(b),
            "source": np.array(_SOURCES, dtype=object)[source],
            "qualified": qualified,
            "status": status,
            "customer_type": np.where(key, "key_account", "smb"),
            "estimated_value": est,
            "next_followup_date": followup,
            "converted_date": np.where(
                converted, tl.dates(np.minimum(conv_b, tl.as_of_b)), np.datetime64("NaT")
            ),
            "opportunity_id": np.where(has_deal, opp_ids[np.maximum(deal_of_lead, 0)], None),
        }
    )


def _activity_table(
    rng: np.random.Generator,
    world: _World,
    cust: np.ndarray,
    deals: _Deals,
    paths: _Paths,
    opp_ids: np.ndarray,
) -> pd.DataFrame:
    """Visits (rated by the customer), proposals (one per deal reaching the proposal
    stage) and cross-region support, from the first day of the history."""
    tl, people, acc = world.tl, world.people, world.acc
    active, ramp, season = world.active, world.ramp, world.season
    n_sel = people.n_sellers
    skill = people.skill[:n_sel, None]
    # Visits: a handful a week, more for the energetic; customers rate each visit.
    w = tl.warm  # activities are recorded from the first day of the history
    rate = (
        1.6
        * active
        * season
        * (0.5 + 0.5 * ramp)
        * np.exp(0.12 * skill)
        * _struggle_factor(people, tl, "visit")
    )[:, w:]
    v_seller, v_b = _poisson_events(rng, rate, 0)
    v_acc = _pick_accounts(rng, acc, v_seller, v_b, acc.created_b, np.where(acc.key, 2.0, 1.0))
    keep = v_acc >= 0
    v_seller, v_b, v_acc = v_seller[keep], v_b[keep], v_acc[keep]
    late = v_b >= tl.as_of_b - 40
    gap = (people.struggle[v_seller] == _CAPABILITY) & late
    rating = 3.6 + 0.3 * people.skill[v_seller] - 0.4 * gap + rng.normal(0, 0.55, v_seller.size)
    rating = np.clip(np.round(rating * 2) / 2, 1.0, 5.0)
    # Proposals: one per deal that reached the proposal stage; accepted when the deal
    # moved on to negotiation, pending while it still sits at proposal.
    prop = (paths.top >= 2) & (paths.entry[:, 2] <= tl.as_of_b) & (paths.entry[:, 2] >= 0)
    p_b = paths.entry[prop, 2]
    p_seller = _owner_at(people, deals.seller[prop], p_b)
    moved_on = (paths.top[prop] >= 3) & (paths.entry[prop, 3] <= tl.as_of_b)
    decided = moved_on | (paths.close_b[prop] <= tl.as_of_b)
    accepted = np.where(decided, moved_on, None)
    # Cross-region support: top performers are asked to help more.
    s_rate = (0.07 * active * season * ramp * np.exp(0.3 * skill))[:, w:]
    s_seller, s_b = _poisson_events(rng, s_rate, 0)
    n_reg = len(_REGIONS)
    other = (people.region[s_seller] + rng.integers(1, n_reg, s_seller.size)) % n_reg

    region_ids = np.array([r[0] for r in _REGIONS], dtype=object)
    k_v, k_p, k_s = v_seller.size, p_b.size, s_seller.size
    seller = np.concatenate([v_seller, p_seller, s_seller])
    day = np.concatenate([v_b, p_b, s_b])
    kind = np.concatenate([np.zeros(k_v, int), np.ones(k_p, int), np.full(k_s, 2)])
    order = np.lexsort((np.arange(seller.size), kind, seller, day))
    frame = (
        pd.DataFrame(
            {
                "rep_id": people.rep_id[seller],
                "date": tl.dates(day),
                "activity_type": np.array(["visit", "proposal", "support"], dtype=object)[kind],
                "customer_id": np.concatenate(
                    [cust[v_acc], cust[deals.account[prop]], np.full(k_s, None, dtype=object)]
                ),
                "opportunity_id": np.concatenate(
                    [
                        np.full(k_v, None, dtype=object),
                        opp_ids[prop],
                        np.full(k_s, None, dtype=object),
                    ]
                ),
                "rating": np.concatenate([rating, np.full(k_p + k_s, np.nan)]),
                "accepted": np.concatenate(
                    [np.full(k_v, None, dtype=object), accepted, np.full(k_s, None, dtype=object)]
                ),
                "support_region_id": np.concatenate(
                    [np.full(k_v + k_p, None, dtype=object), region_ids[other]]
                ),
            }
        )
        .iloc[order]
        .reset_index(drop=True)
    )
    frame.insert(0, "activity_id", [f"A{i + 1:07d}" for i in range(len(frame))])
    return frame


def _invoice_tables(
    rng: np.random.Generator,
    tl: _Timeline,
    people: _People,
    deals: _Deals,
    paths: _Paths,
    owner: np.ndarray,
    opp_ids: np.ndarray,
    cust_ids: np.ndarray,
    won: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Won deals are billed in one to three instalments; most bills are paid."""
    idx = np.flatnonzero(won)
    m = idx.size
    n_inv = rng.choice([1, 2, 3], m, p=[0.6, 0.28, 0.12])
    deal = np.repeat(idx, n_inv)
    part = np.concatenate([np.arange(k) for k in n_inv]) if m else np.zeros(0, int)
    count = np.repeat(n_inv, n_inv)
    share = np.select(
        [count == 1, (count == 2) & (part == 0), count == 2, part == 1], [1.0, 0.5, 0.5, 0.4], 0.3
    )
    amount_total = paths.nego[deal]
    amount = np.round(amount_total * share, 2)
    # The last instalment takes the rounding remainder so a deal's bills sum exactly.
    is_last = part == count - 1
    first_of = np.flatnonzero(part == 0)
    sums = np.add.reduceat(np.where(is_last, 0.0, amount), first_of) if deal.size else np.zeros(0)
    amount = np.where(is_last, np.round(amount_total - np.repeat(sums, n_inv), 2), amount)
    gaps = np.where(part == 0, rng.integers(0, 8, deal.size), rng.integers(20, 65, deal.size))
    start = np.repeat(paths.close_b[idx], n_inv)
    csum = np.cumsum(gaps)
    issue_b = start + csum - np.repeat(csum[first_of] - gaps[first_of], n_inv)
    keep = issue_b <= tl.as_of_b
    deal, part, amount, issue_b = deal[keep], part[keep], amount[keep], issue_b[keep]
    order = np.lexsort((part, deal, issue_b))  # invoice numbers follow issue dates
    deal, amount, issue_b = deal[order], amount[order], issue_b[order]
    platform = np.isin(deals.product[deal], [3, 4, 5])  # platform deals get longer terms
    terms = np.where(platform, rng.choice([60, 90], deal.size), rng.choice([30, 45, 60], deal.size))
    issue = tl.dates(issue_b)
    due = issue + terms
    n = deal.size
    inv_ids = np.array([f"INV{i + 1:06d}" for i in range(n)], dtype=object)
    invoices = pd.DataFrame(
        {
            "invoice_id": inv_ids,
            "customer_id": cust_ids[deals.account[deal]],
            "rep_id": people.rep_id[owner[deal]],
            "opportunity_id": opp_ids[deal],
            "issue_date": issue,
            "due_date": due,
            "amount": amount,
        }
    )
    # Payments: the rep's collection discipline sets how many bills are never or
    # only partly paid; most pay around the due date, some late.
    c = people.collect[owner[deal]]
    u = rng.random(n)
    never = u < 0.55 * (1 - c)
    partial = ~never & (u < 1.45 * (1 - c))
    frac = np.where(partial, rng.uniform(0.3, 0.8, n), 1.0)
    late = rng.random(n) < 0.3
    delay = np.round(rng.normal(-3, 10, n) + late * rng.exponential(35, n)).astype(np.int64)
    pay_day = np.maximum(due + delay, issue + 1)
    split = ~partial & (rng.random(n) < 0.2)
    first_amt = np.where(split, np.round(amount * 0.5, 2), np.round(amount * frac, 2))
    second_day = pay_day + rng.integers(15, 60, n)
    p_inv = np.concatenate([np.flatnonzero(~never), np.flatnonzero(split & ~never)])
    p_day = np.concatenate([pay_day[~never], second_day[split & ~never]])
    p_amt = np.concatenate([first_amt[~never], np.round(amount - first_amt, 2)[split & ~never]])
    p_day = np.busday_offset(p_day, 0, roll="forward", busdaycal=tl.cal)
    ok = p_day <= tl.as_of
    p_inv, p_day, p_amt = p_inv[ok], p_day[ok], p_amt[ok]
    order = np.lexsort((p_inv, p_day))
    payments = pd.DataFrame(
        {
            "payment_id": [f"PAY{i + 1:06d}" for i in range(order.size)],
            "invoice_id": inv_ids[p_inv[order]],
            "date": p_day[order],
            "amount": p_amt[order],
        }
    )
    return invoices, payments


def _nps_table(
    rng: np.random.Generator,
    tl: _Timeline,
    people: _People,
    deals: _Deals,
    paths: _Paths,
    owner: np.ndarray,
    cust_ids: np.ndarray,
    won: np.ndarray,
) -> pd.DataFrame:
    """Post-purchase surveys: better consultants leave happier customers."""
    idx = np.flatnonzero(won & (rng.random(won.size) < 0.4))
    b = paths.close_b[idx] + rng.integers(15, 50, idx.size)
    keep = b <= tl.as_of_b
    idx, b = idx[keep], b[keep]
    o = owner[idx]
    score = (
        8.0 + 0.6 * people.skill[o] - 0.8 * (people.struggle[o] > 0) + rng.normal(0, 1.7, idx.size)
    )
    score = np.clip(np.round(score), 0, 10).astype(np.int64)
    order = np.lexsort((idx, b))
    return pd.DataFrame(
        {
            "response_id": [f"NPS{i + 1:05d}" for i in range(idx.size)],
            "customer_id": cust_ids[deals.account[idx[order]]],
            "rep_id": people.rep_id[o[order]],
            "date": tl.dates(b[order]),
            "score": score[order],
        }
    )


# Share of a year's revenue planned for each quarter (the company's seasonality).
_QUARTER_WEIGHTS = np.array([0.215, 0.245, 0.245, 0.295])
_PLAN_GROWTH = 0.12  # the board's growth ask on last year's actuals
_UPLIFT = {"region": 0.015, "team": 0.015, "rep": 0.02}  # over-assignment per level


def _monthly_capacity(people: _People, tl: _Timeline, year: int) -> np.ndarray:
    """Share of a full quota for each month of ``year`` per seller, as planned.

    A ramped quota: nothing in a new hire's first two months (their first deals
    are still in the funnel), then rising evenly to a full quota after eight. A
    successor takes over a leaver's book and pipeline, so starts at half a quota
    and is at full quota after four months. Leaving is not foreseen.
    """
    n = people.n_sellers
    mid = tl.index(_month_starts(np.full(12, year), np.arange(1, 13))) + 10
    tenure = (mid[None, :] - people.hire_b[:n, None]) / _BD_MONTH
    fresh = np.clip((tenure - 2) / 6, 0.0, 1.0)
    taking_over = np.where(tenure < 0, 0.0, np.clip(0.5 + tenure / 8, 0.5, 1.0))
    successor = np.isin(np.arange(n), people.successor[people.successor >= 0])[:, None]
    return np.where(successor, taking_over, fresh)


def _target_table(
    rng: np.random.Generator,
    tl: _Timeline,
    people: _People,
    paths: _Paths,
    owner: np.ndarray,
    won: np.ndarray,
    as_of: dt.date,
) -> pd.DataFrame:
    """Revenue targets set at the start of each year, cascaded company → rep.

    The company number is last year's actual revenue plus the growth ask; regions,
    teams and reps get shares of it in proportion to their capacity-weighted run
    rate (half their own, half their team's, so one lucky year does not set the
    next quota), each level over-assigned a little. Consultants hired during a year
    get a ramped quota from their start date.
    """
    n = people.n_sellers
    first_year = as_of.year - 2
    _, close_year = _month_year(tl.dates(paths.close_b[won]))
    n_years = 3
    actual = np.zeros((n, n_years + 1))  # column 0 is the year before the history
    cols = close_year - first_year + 1
    np.add.at(actual, (owner[won], cols), paths.nego[won])
    active_months = np.zeros((n, n_years + 1))
    for y in range(n_years + 1):
        mid = tl.index(_month_starts(np.full(12, first_year - 1 + y), np.arange(1, 13))) + 10
        employed = (mid[None, :] >= people.hire_b[:n, None]) & (
            mid[None, :] < people.leave_b[:n, None]
        )
        tenure = (mid[None, :] - people.hire_b[:n, None]) / _BD_MONTH
        active_months[:, y] = (employed * np.clip(0.15 + 0.85 * tenure / 6, 0.15, 1.0)).sum(1) / 12
    # The history has no year before it: reconstruct that year's actuals from the
    # first year's, less a year of growth, with the noise a real year would have.
    actual[:, 0] = actual[:, 1] * np.exp(rng.normal(-np.log(1.11), 0.12, n))

    team_ids = [t[0] for t in _TEAMS]
    region_ids = [r[0] for r in _REGIONS]
    rows: list[tuple[str, str, str, float]] = []

    def emit(owner_id: str, level: str, year: int, total: float, weights: np.ndarray) -> None:
        if weights.sum() <= 0:  # a hire too recent to carry any quota this year
            return
        w = weights / weights.sum()
        quarters = np.round(total * w, -2)
        quarters[3] = round(total - quarters[:3].sum(), 2)
        rows.append((owner_id, level, str(year), total))
        for q in range(4):
            if w[q] > 0:
                rows.append((owner_id, level, f"{year}-Q{q + 1}", float(quarters[q])))

    for y in range(1, n_years + 1):
        year = first_year + y - 1
        year_start = int(tl.index(np.array([np.datetime64(f"{year}-01-01")]))[0])
        prior, prior_cap = actual[:, y - 1], active_months[:, y - 1]
        team_rate = np.array(
            [
                prior[people.team[:n] == t].sum() / max(prior_cap[people.team[:n] == t].sum(), 1e-9)
                for t in range(len(_TEAMS))
            ]
        )
        own_rate = np.where(
            prior_cap >= 0.5, prior / np.maximum(prior_cap, 1e-9), team_rate[people.team[:n]]
        )
        cap_months = _monthly_capacity(people, tl, year)
        on_roster = (people.hire_b[:n] <= year_start) & (people.leave_b[:n] > year_start)
        basis = np.where(
            on_roster,
            cap_months.sum(1) / 12 * (0.5 * own_rate + 0.5 * team_rate[people.team[:n]]),
            0.0,
        )
        company = round(prior.sum() * (1 + _PLAN_GROWTH), -4)
        emit("CO", "company", year, company, _QUARTER_WEIGHTS.copy())
        for r, rid in enumerate(region_ids):
            in_region = people.region[:n] == r
            region_t = round(
                company * basis[in_region].sum() / basis.sum() * (1 + _UPLIFT["region"]), -3
            )
            emit(rid, "region", year, region_t, _QUARTER_WEIGHTS.copy())
            for t in np.flatnonzero([tm[1] == rid for tm in _TEAMS]):
                in_team = people.team[:n] == t
                team_t = round(
                    region_t
                    * basis[in_team].sum()
                    / basis[in_region].sum()
                    * (1 + _UPLIFT["team"]),
                    -3,
                )
                emit(team_ids[t], "team", year, team_t, _QUARTER_WEIGHTS.copy())
                for s in np.flatnonzero(in_team & on_roster):
                    rep_t = round(
                        team_t * basis[s] / basis[in_team].sum() * (1 + _UPLIFT["rep"]), -3
                    )
                    q_cap = cap_months[s].reshape(4, 3).sum(1)
                    emit(people.rep_id[s], "rep", year, rep_t, _QUARTER_WEIGHTS * q_cap)
        # Consultants who join during the year get a ramped quota at their start.
        hired = people.hire_b[:n]
        joined_in = tl.dates(hired).astype("datetime64[Y]").astype(int) + 1970
        joiners = np.flatnonzero((hired > year_start) & (hired <= tl.as_of_b) & (joined_in == year))
        for s in joiners:
            full = (
                team_rate[people.team[s]]
                * (1 + _PLAN_GROWTH)
                * (1 + _UPLIFT["region"])
                * (1 + _UPLIFT["team"])
                * (1 + _UPLIFT["rep"])
            )
            q_cap = cap_months[s].reshape(4, 3).sum(1)
            rep_t = round(full * q_cap.sum() / 12, -3)
            emit(people.rep_id[s], "rep", year, rep_t, _QUARTER_WEIGHTS * q_cap)
    frame = pd.DataFrame(rows, columns=["owner_id", "level", "period", "amount"])
    frame["metric"] = "revenue"
    return frame


# Text columns take the dtype pandas infers for Python strings: ``str`` from
# pandas 3, ``object`` before; missing values stay missing.
_TEXT_DTYPE = pd.Series(["x"]).dtype


def _coerce(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Canonical column order and dtypes, rows sorted by the primary key."""
    out = {}
    for col in table.columns:
        s = df[col.name] if col.name in df.columns else pd.Series([None] * len(df), dtype=object)
        s = s.reset_index(drop=True)
        if col.kind == "date":
            out[col.name] = pd.to_datetime(s).dt.normalize().astype("datetime64[ns]")
        elif col.kind == "money":
            out[col.name] = pd.to_numeric(s).astype("float64").round(2)
        elif col.kind == "number":
            out[col.name] = pd.to_numeric(s).astype("float64")
        elif col.kind == "int":
            out[col.name] = pd.to_numeric(s).astype("int64")
        elif col.kind == "bool":
            values = s.astype(object)
            out[col.name] = pd.Series(
                pd.array(values.where(values.notna(), None).tolist(), dtype="boolean")
            )
        elif s.dtype == _TEXT_DTYPE:
            out[col.name] = s
        else:
            values = s.astype(object)
            out[col.name] = pd.Series(
                values.where(values.notna(), None).to_numpy(), dtype=_TEXT_DTYPE
            )
    frame = pd.DataFrame(out, columns=table.column_names)
    return frame.sort_values(list(table.key), kind="mergesort").reset_index(drop=True)
