"""The reports as self-contained HTML pages in Chinese: tables drawn here, charts drawn in the
browser by the vendored Chart.js (``vendor/chart.umd.min.js``, MIT), so a page opens offline."""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import Any

import orjson

from services.reports.assess import BY_NAMES

STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;
margin:0;background:#f4f6f9;color:#1f2933}
header{background:#b71c1c;color:#fff;padding:18px 32px}header h1{margin:0;font-size:24px}
header p{margin:6px 0 0;opacity:.9}main{padding:20px 32px;max-width:1280px}
.cards{display:flex;gap:14px;flex-wrap:wrap}.card{background:#fff;border-radius:8px;
padding:12px 18px;min-width:150px;box-shadow:0 1px 3px #0002}.card b{display:block;font-size:26px}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin:18px 0}
.chart{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 3px #0002;height:420px}
.chart h2,section h2{font-size:16px;margin:0 0 8px}.chart div{position:relative;height:370px}
table{border-collapse:collapse;background:#fff;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e4e7eb;padding:6px 8px;text-align:right}
th{background:#eef1f5}td.t,th.t{text-align:left}tr.c td{background:#fff4e5}
.notes{font-size:13px;color:#52606d}
"""

SCRIPT = """
const DATA = JSON.parse(document.getElementById('report-data').textContent);
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
const pct = v => v === null ? null : Math.round(v * 1000) / 10;
let drawn = 0;
function chart(id, config) { new Chart(document.getElementById(id), config); drawn += 1; }
"""

ASSESS_CHARTS = """
const shown = DATA.rows.slice(0, 30);
chart('ranking', {type: 'bar', data: {labels: shown.map(r => r.unit_name), datasets: [
  {label: '综合得分', data: shown.map(r => r.score), backgroundColor: '#c62828'}]},
  options: {indexAxis: 'y', scales: {x: {max: 100, min: Math.max(0,
    Math.floor(Math.min(...shown.map(r => r.score ?? 0)) / 5) * 5 - 5)}}}});
chart('trend', {data: {labels: DATA.trend.map(t => t.bucket), datasets: [
  {type: 'line', label: '响应率 %', data: DATA.trend.map(t => pct(t.response_rate)),
   borderColor: '#1565c0', yAxisID: 'y'},
  {type: 'line', label: '解决率 %', data: DATA.trend.map(t => pct(t.resolution_rate)),
   borderColor: '#2e7d32', yAxisID: 'y'},
  {type: 'line', label: '满意率 %', data: DATA.trend.map(t => pct(t.satisfaction_rate)),
   borderColor: '#ef6c00', yAxisID: 'y'},
  {type: 'bar', label: '受理量', data: DATA.trend.map(t => t.received),
   backgroundColor: '#90a4ae66', yAxisID: 'n'}]},
  options: {scales: {y: {min: 0, max: 100, position: 'left'},
                     n: {position: 'right', grid: {drawOnChartArea: false}}}}});
document.body.dataset.charts = String(drawn);
"""

HOTSPOT_CHARTS = """
const shown = DATA.rows.slice(0, 15);
const label = r => r.place_name + '·' + r.category_name;
chart('ranking', {type: 'bar', data: {labels: shown.map(label), datasets: [
  {label: '本期', data: shown.map(r => r.count), backgroundColor: '#c62828'},
  {label: '上期', data: shown.map(r => r.previous), backgroundColor: '#90a4ae'}]},
  options: {indexAxis: 'y'}});
const colours = ['#c62828', '#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a'];
const byKey = Object.fromEntries(DATA.rows.map(r => [r.category + '|' + r.place_id, r]));
chart('trend', {type: 'line', data: {labels: DATA.trend.buckets, datasets:
  DATA.trend.series.map((s, i) => ({label: label(byKey[s.category + '|' + s.place_id]),
    data: s.counts, borderColor: colours[i % colours.length]}))},
  options: {scales: {y: {beginAtZero: true}}}});
document.body.dataset.charts = String(drawn);
"""


def _chartjs() -> str:
    return resources.files("services.reports").joinpath("vendor/chart.umd.min.js").read_text()


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _table(heads: list[str], rows: list[list[str]], marked: list[bool]) -> str:
    head = "".join(
        f'<th class="t">{h}</th>' if i < 2 else f"<th>{h}</th>" for i, h in enumerate(heads)
    )
    body = "".join(
        ('<tr class="c">' if mark else "<tr>")
        + "".join(f'<td class="t">{c}</td>' if i < 2 else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r, mark in zip(rows, marked, strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _page(
    title: str, subtitle: str, cards: list[tuple[str, str]], body: str, data: Any, charts: str
) -> str:
    payload = orjson.dumps(data).decode().replace("</", "<\\/")
    tiles = "".join(f'<div class="card">{escape(k)}<b>{escape(v)}</b></div>' for k, v in cards)
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
        f'<main><div class="cards">{tiles}</div>{body}</main>'
        f'<script type="application/json" id="report-data">{payload}</script>'
        f"<script>{_chartjs()}</script><script>{SCRIPT}{charts}</script></body></html>"
    )


def _charts(ranking: str, trend: str) -> str:
    return (
        f'<div class="charts"><div class="chart"><h2>{ranking}</h2><div><canvas id="ranking">'
        f'</canvas></div></div><div class="chart"><h2>{trend}</h2><div><canvas id="trend">'
        "</canvas></div></div></div>"
    )


def _notes(notes: list[str]) -> str:
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return f'<section class="notes"><h2>说明</h2><ul>{items}</ul></section>'


def _span(report: dict[str, Any]) -> str:
    p = report["period"]
    return f"统计期 {p['from']} 至 {p['to']}({p['days']} 天)· 策略 {report['policy']}"


def assessment_page(report: dict[str, Any]) -> str:
    by, total, w = BY_NAMES[report["by"]], report["total"], report["weights"]
    weights = (
        f"权重:响应率 {w['response']:.0%} · 解决率 {w['resolution']:.0%} · "
        f"满意率 {w['satisfaction']:.0%}"
    )
    cards = [
        ("受理(件)", f"{total['received']:,}"),
        ("响应率", _percent(total["response_rate"])),
        ("解决率", _percent(total["resolution_rate"])),
        ("满意率", _percent(total["satisfaction_rate"])),
        ("全区综合得分", "—" if total["score"] is None else f"{total['score']:.2f}"),
    ]
    heads = [
        "排名",
        by,
        "受理",
        "按时签收",
        "响应率",
        "有回访",
        "已解决",
        "解决率",
        "满意",
        "满意率",
        "综合得分",
    ]
    rows = [
        [
            str(r["rank"]),
            escape(r["unit_name"]),
            str(r["received"]),
            str(r["responded"]),
            _percent(r["response_rate"]),
            str(r["with_feedback"]),
            str(r["solved"]),
            _percent(r["resolution_rate"]),
            str(r["satisfied"]),
            _percent(r["satisfaction_rate"]),
            "—" if r["score"] is None else f"{r['score']:.2f}",
        ]
        for r in report["rows"]
    ]
    body = (
        _charts(f"{by}综合得分排名", "全区三率与受理量走势")
        + f"<section><h2>{by}三率考核明细</h2>"
        + _table(heads, rows, [False] * len(rows))
        + "</section>"
        + _notes(report["notes"])
    )
    title = f"三率考核 · {by}排名"
    return _page(title, f"{_span(report)} · {weights}", cards, body, report, ASSESS_CHARTS)


def hotspots_page(report: dict[str, Any]) -> str:
    prev = report["previous_period"]
    cards = [
        ("本期受理(件)", f"{report['total']:,}"),
        (f"上期 {prev['from']} 至 {prev['to']}", f"{report['previous_total']:,}"),
        ("重复诉求(件)", f"{report['repeats']:,}"),
        ("每月一题候选", str(sum(r["candidate"] for r in report["rows"]))),
    ]
    heads = ["排名", "地点 · 类别", "街道", "本期", "上期", "环比", "重复", "重复占比", "每月一题"]
    shown = report["rows"][:50]
    rows = [
        [
            str(r["rank"]),
            escape(f"{r['place_name']} · {r['category_name']}"),
            escape(r["street_name"]),
            str(r["count"]),
            str(r["previous"]),
            f"{r['change']:+d}"
            + ("" if r["change_rate"] is None else f"({r['change_rate']:+.0%})"),
            str(r["repeats"]),
            _percent(r["repeat_share"]),
            "★ 候选" if r["candidate"] else "",
        ]
        for r in shown
    ]
    body = (
        _charts("诉求热点(本期与上期)", "前五热点走势")
        + "<section><h2>热点聚类(前 50)</h2>"
        + _table(heads, rows, [r["candidate"] for r in shown])
        + "</section>"
        + _notes(report["notes"])
    )
    return _page("诉求热点与“每月一题”候选", _span(report), cards, body, report, HOTSPOT_CHARTS)
