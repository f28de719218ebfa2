"""Coverage by hour of day against each program's hours (the staffing and sizing section of the report), from the
runs' ledger-based ``eligible_by_hour`` / ``served_by_hour`` (:func:`crisis_sim.outcomes.program_metrics.hourly_coverage`)
as summarised by :func:`crisis_sim.report.decision.decision_data` (``coverage_by_hour`` of each row).
"""

from __future__ import annotations

from typing import Any

import crisis_sim.report.figures as figures
from crisis_sim.report.decision import _program_short as program_short


def coverage_by_hour_html(data: dict[str, Any], esc: Any) -> str:
    """Coverage by hour of day against each program's hours: one chart panel per option with programs that
    serve calls, then a table (hour × option: eligible calls a year and the share served) folded."""
    rows = [r for r in data["decision"] if r.get("coverage_by_hour") and r["coverage_by_hour"]["served_per_year"]]
    if not rows:
        return ""
    short = program_short()
    png = figures.coverage_hour_figure([(r["option"], r["coverage_by_hour"]) for r in rows], short)
    sentences = []
    for r in rows:
        for k, share in r["coverage_by_hour"]["eligible_outside_hours"].items():
            if share is not None:
                sentences.append(f"{esc(r['option'])}: {share:.0%} of eligible calls arrive outside the "
                                 f"{esc(short.get(k, k))}'s hours.")  # fmt: skip
    head = "<tr><th class=l>hour</th>" + "".join(
        f"<th>{esc(r['option'])}<br><span class=ci>eligible a year · share served</span></th>" for r in rows) + "</tr>"
    body = []
    for h in range(24):
        cells = []
        for r in rows:
            c = r["coverage_by_hour"]
            staffed = [short.get(k, k) for k, m in c["hours"].items() if m[h]]
            share = c["share_served"][h]
            mark = "" if staffed else " <span class=ci>(no team on duty)</span>"
            cells.append(f"<td class=num>{c['eligible_per_year'][h]:,.0f} · "
                         f"{'—' if share is None else f'{share:.0%}'}{mark}</td>")  # fmt: skip
        body.append(f"<tr><td class=l>{h:02d}:00</td>{''.join(cells)}</tr>")
    return (f"<h3 id=coverage-by-hour>Coverage by hour of day against each program's hours</h3>"
            '<img alt="eligible MH calls and the share served by hour of day, with each program\'s hours" '
            f'src="{figures.data_uri(png)}">'
            + (f"<p class=legend>{' '.join(sentences)}</p>" if sentences else "")
            + "<details><summary>Coverage by hour: the table</summary><div class=scroll><table class=hourly>"
            f"{head}{''.join(body)}</table></div><p class=legend>Eligible MH calls a year received in each hour "
            "(closed calls some program's rules admit, from the call records of every replication) and the share "
            "a specialised responder served. Shaded in the chart: the hours each program is staffed."
            "</p></details>")  # fmt: skip
