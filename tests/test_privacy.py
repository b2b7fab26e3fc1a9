"""Privacy by subtraction: a rep's review pack shows no team figure when the team is too
small to hide a colleague behind it (k-anonymity, k = MIN_GROUP = 3), and says why.

In a team of two, the team average less (half) one's own value is the colleague's value,
and "1 of 2" is the colleague's rank; so the pack of a rep in a 2-rep team shows no team
average, rank in the team, target set at the team average, comparison with the team,
team honour or team pay. A rep in a larger team still sees them.
"""

from __future__ import annotations

import pytest

from simlib import scorecard as sc
from simlib import tracking
from simlib.data.io import Dataset
from simlib.i18n import escape
from simlib.views.commission_summary import MIN_GROUP
from simlib.views.team_review import _PACK, rep_pack

PERIOD = "2026-10"
SMALL, LARGE = "T-TJ", "T-SH"
WHY = {
    "en": "Team figures are not shown: your team has fewer than 3 reps",
    "zh-CN": "团队人数少于3人，不显示团队平均、团队排名及与团队的比较",
}
TEAM_WORDS = {
    "en": ("team average", "in the team", "the team's", "team total", "Team average payout"),
    "zh-CN": ("团队平均", "团队第", "团队提成总额", "团队人均", "团队内"),
}


@pytest.fixture(scope="module")
def facts(demo):
    """The demo company with team T-TJ cut to two reps (the others moved to T-BJ)."""
    tables = {k: v.copy() for k, v in demo.tables.items()}
    reps = tables["reps"]
    mine = reps[(reps["team_id"] == SMALL) & (reps["role"] == "rep")]["rep_id"].tolist()
    reps.loc[reps["rep_id"].isin(mine[2:]), "team_id"] = "T-BJ"
    return tracking.prepare(Dataset(tables, demo.as_of, source="two-rep team"))


def _pair(facts):
    card = sc.scorecard(facts, PERIOD)
    t = card.table
    small = t[t["team_id"] == SMALL]["rep_id"].tolist()
    assert len(small) == 2 and MIN_GROUP == 3
    return card, small


def _everything(p) -> str:
    """All a reader of the pack sees, as HTML and as text."""
    parts = [p.header().data, p.review().data, p.honours_list().data, p.explanation]
    for obj in (
        p.scorecard(),
        p.explain(),
        p.pay(),
        p.my_followups(),
        p.my_leads(),
        p.my_milestones(),
        p.my_clawbacks(),
    ):
        parts += [obj._repr_html_(), repr(obj)]
    return "\n".join(parts)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_small_team_pack_shows_no_team_figure_and_says_why(facts, lang):
    card, small = _pair(facts)
    for rep_id in small:
        p = rep_pack(facts, rep_id, PERIOD, lang)
        assert p.small_team and p.summary["team_rank"] is None
        text = _everything(p)
        # what is left once the pack's own explanations are taken out names no team figure
        rest = text
        for said in (p.privacy_note(), _PACK["hidden"][lang == "zh-CN"]):
            rest = rest.replace(said, "").replace(escape(said), "")
        for word in TEAM_WORDS[lang]:
            assert word not in rest, (rep_id, word)
        # said in the header, under the scorecard and in the review, in the pack's language
        assert WHY[lang] in p.header().data
        assert WHY[lang] in p.scorecard()._repr_html_()
        assert WHY[lang] in p.review().data
        assert "k = 3" in p.header().data
        # no column of team averages; no target, ratio or points set against one
        assert "team_value" not in p.kpis.columns
        d = card.detail[card.detail["rep_id"] == rep_id].reset_index(drop=True)
        relative = (d["target_basis"] == "team average").to_numpy()
        assert relative.sum() >= 5
        for col in ("target", "ratio", "contribution"):
            assert (p.kpis.loc[relative, col] == "–").all(), col
        assert (p.kpis.loc[~relative, "target"] != "–").any()  # own quota still shown
        # the colleague's figures cannot be worked out from the team average: it is absent
        from simlib.tracking import text as tt

        cur = tt.company_currency()
        for k, v in zip(d.loc[relative, "kpi"], d.loc[relative, "team_value"]):
            shown = tt.value(k, v, lang, cur)
            if len(shown) >= 4:  # short numbers ("1.2") may appear for other reasons
                assert shown not in text, (k, shown)
        # no honour that is a rank in the team; no team pay
        assert not (p.honours["scope"] == SMALL).any()
        assert p.pay_section.team_total_cents is None and p.pay_section.rank is None


def test_large_team_pack_still_shows_the_team(facts):
    """The same company: a rep of a 9-rep team still sees the team (both languages)."""
    for lang in ("en", "zh-CN"):
        p = rep_pack(facts, "S003", PERIOD, lang)
        assert not p.small_team and p.summary["team_rank"] >= 1
        assert "team_value" in p.kpis.columns
        text = _everything(p)
        assert WHY[lang] not in text
        assert TEAM_WORDS[lang][0] in text and TEAM_WORDS[lang][1] in text
        assert p.pay_section.team_total_cents is not None
