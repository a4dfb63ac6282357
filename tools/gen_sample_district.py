"""Generate ``schemas/policy/sample-district.yaml``: the sample district modelled on 沙县区.

The seeds describe Shaxian's urban grid as "17 communities, 115 area grids, 988 micro-grids"
under two streets (凤岗街道 north of the 沙溪河, 虬江街道 south of it). This script builds that
grid (real community names where known, plausible compounds and roads elsewhere), the departments,
the category lexicon, the tier rules and the deadlines, and writes them as one compact YAML file.

Deterministic: the only randomness is a ``random.Random`` with a fixed seed, so running the
script twice gives byte-identical output (and so the same policy version hash).

Usage: ``python tools/gen_sample_district.py [--check] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

SEED = 20230410  # the date of the seeds' Shaxian figures (截至2023年4月10日)
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "schemas" / "policy" / "sample-district.yaml"

TOTAL_COMMUNITIES = 17
TOTAL_AREAGRIDS = 115
TOTAL_MICROGRIDS = 988


class Flow(dict):  # type: ignore[type-arg]
    """A mapping written in flow style: ``{id: X, name: Y}``."""


class Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _flow(dumper: yaml.SafeDumper, data: Flow) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


Dumper.add_representer(Flow, _flow)


def words(text: str) -> list[str]:
    """The whitespace-separated words of ``text`` (keyword lists are written as prose)."""
    return text.split()


def hook(path: str) -> dict[str, str]:
    """A unit's WeCom work group (微信末梢群). The sample district names no webhook: a sample
    URL would be a receiver nobody runs, and every notification to it would end as failed.
    Texts go through DISPATCH_TEXT_GATEWAY when set, else to the notifier's log."""
    return {"kind": "wecom", "address": "wg-" + path.replace("/", "-").lower()}


# ---------------------------------------------------------------- the grid

# Units and handlers of the starter policy, kept as they were: tests and the demo rely on them.
COMMAND_CENTER = Flow(name="区智慧治理服务中心值班长", channel=hook("command-center"))
FIXED_MICROGRIDS: dict[str, dict[str, Any]] = {
    "MG-CB-01-01": {
        "name": "城北社区第1微网格",
        "leader": Flow(
            name="赖清香", phone="13905981234", channel={"kind": "sms", "address": "13905981234"}
        ),
        "addresses": ["城北新村南区5幢", "城北新村南区6幢", "城北新村南区7幢"],
    },
    "MG-CB-01-02": {
        "name": "城北社区第2微网格",
        "leader": Flow(name="城北第2微网格长"),
        "addresses": ["城北新村北区1幢", "城北新村北区2幢"],
    },
    "MG-FQ-01-05": {
        "name": "府前社区第5微网格",
        "leader": Flow(
            name="谭秀清", phone="13805985678", channel={"kind": "wecom", "address": "fuqian-mg05"}
        ),
        "addresses": ["府前9幢", "9幢20号"],
    },
    "MG-LB-01-01": {
        "name": "罗布社区洋坊新村微网格",
        "leader": Flow(name="陈炳光"),
        "addresses": ["洋坊新村"],
    },
}
FIXED_AREA_LEADERS = {
    "AG-CB-01": "城北第1片区网格员",
    "AG-FQ-01": "府前第1片区网格员",
    "AG-LB-01": "罗布第1片区网格员",
}
FIXED_SECRETARIES = {"CM-CB": "城北社区书记", "CM-FQ": "府前社区书记", "CM-LB": "张文君"}
STREET_HANDLERS = {"ST-FG": "凤岗街道综治中心", "ST-QJ": "虬江街道综治中心"}

# street | code name area-grids micro-grids | compounds (<compound><n>幢) | roads (<road><n>号)
# Micro-grids follow households (~68 per micro-grid): 城北 ~4,900 households, 府前 ~3,500;
# 罗布 has 60 micro-grid leaders (seed 002). 凤岗, 府前, 城北, 东门, 金沙, 城西 and 虬江's
# 城南, 翠绿, 生态新城, 罗布, 金古 are real names; the rest are plausible.
COMMUNITY_TABLE = """
ST-FG 凤岗街道
  CB  城北社区     9 72 | 城北新村南区 城北新村北区 长泰花园 金城嘉园 北门小区 西山新村 府北公寓
                        | 建国北路 长泰路 府北路
  FQ  府前社区     8 52 | 府前 府西小区 金鼎城 绿园小区 滨河新村
                        | 府前路 府西路 三优街 盐仓巷 罗家巷
  DM  东门社区     7 63 | 东门新村 东门花园 龙湖苑 东山公寓 文昌苑 水东小区 | 东门路 文昌路
  JS  金沙社区     8 71 | 金沙花园 金沙湾小区 淘金山小区 七峰苑 科技园公寓 金沙一品 | 金沙路 园区路
  CX  城西社区     6 55 | 城西新村 西霞小区 鸿翔花园 西郊新村 紫云苑 | 城西路 西山路
  DD  东大社区     7 58 | 东大新村 东大花园 东方明珠 翠屏苑 粮食局宿舍 | 东大路 北环路
  XM  西门社区     5 44 | 西门新村 华府名苑 丽景花园 聚龙苑 | 西门路 古县路
  SGT 三官堂社区   6 49 | 三官堂新村 盛世华庭 阳光城 文化苑 供电局宿舍 | 三官堂路 中山路
  LG  李纲社区     5 38 | 李纲新村 滨河花园 师古苑 曲巷小区 | 李纲路 府南路 当铺巷
  SY  沙阳社区     6 47 | 沙阳新村 沙阳花园 小吃城公寓 康乐苑 梦笔苑 | 沙阳路 小吃街
ST-QJ 虬江街道
  LB  罗布社区     8 60 | 罗布新村 罗布花园 嘉禾苑 虬江小区 长红新村 | 罗布路 嘉禾路
  CN  城南社区     9 78 | 城南新村 城南花园 南门小区 滨江花园 碧水苑 阳光水岸 | 城南路 南大路
  CL  翠绿社区     7 66 | 翠绿新村 翠绿家园 翠园小区 绿洲花园 金桂苑 | 翠绿路 官南路
  XC  生态新城社区 8 82 | 湿地公园一号 新城花园 沙溪苑 碧桂园 万达华府 新城安置小区
                        | 新城大道 生态路 湿地路
  JG  金古社区     6 55 | 金古新村 金古花园 金古名苑 康桥小区 古楼安置房 | 金古路 茅坪路
  JQ  金泉社区     5 41 | 金泉新村 金泉花园 泉水苑 墩头安置区 工业园宿舍 | 金泉路 墩头路
  SN  水南社区     5 57 | 水南新村 水南花园 沙溪河畔 南岸华庭 长兴苑 | 水南路 滨江路
"""
WHOLE_COMPOUNDS = {"CM-LB": ("洋坊新村",)}  # located as a whole (no building numbers)


@dataclass(frozen=True)
class CommunitySpec:
    street: str
    code: str  # ids: CM-<code>, AG-<code>-NN, MG-<code>-NN-MM
    name: str
    areagrids: int
    microgrids: int
    compounds: tuple[str, ...]
    roads: tuple[str, ...]


def parse_communities(table: str) -> tuple[dict[str, str], list[CommunitySpec]]:
    streets: dict[str, str] = {}
    rows: list[tuple[str, str]] = []  # (street id, the row's text with its continuations)
    for line in table.strip().splitlines():
        if not line.startswith(" "):
            street_id, streets[street_id] = line.split()
        elif line.lstrip().startswith("|"):
            rows[-1] = (rows[-1][0], rows[-1][1] + " " + line.strip())
        else:
            rows.append((street_id, line.strip()))
    specs = []
    for street_id, text in rows:
        head, compounds, roads = text.split("|")
        code, name, areas, micros = head.split()
        specs.append(
            CommunitySpec(
                street_id,
                code,
                name,
                int(areas),
                int(micros),
                tuple(compounds.split()),
                tuple(roads.split()),
            )
        )
    return streets, specs


SURNAMES = "陈陈陈林林林张张黄黄王王罗吴邓李李郑刘杨叶朱魏谢胡洪乐廖徐余范曹陆赖肖邱蔡"
GIVEN = "秀英桂芳丽华建国志强美玲春花金水文彬玉兰明辉淑珍德福雪梅海燕国良丽萍永生晓东宝珠"


class Names:
    """Chinese personal names for generated handlers, unique within the district."""

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng = rng
        self.taken = set(taken)

    def __call__(self) -> str:
        while True:
            given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2, 2))))
            name = self.rng.choice(SURNAMES) + given
            if name not in self.taken and len(set(given)) == len(given):
                self.taken.add(name)
                return name


def phone(rng: random.Random) -> str:
    """A sample mobile number in the starter's 1xx-0598-xxxx pattern (0598: Sanming)."""
    return f"1{rng.choice('3589')}{rng.randint(0, 9)}0598{rng.randint(0, 9999):04d}"


def person(rng: random.Random, names: Names, unit_id: str, reach: float) -> Flow:
    """A handler; with probability ``reach`` it has a phone and a notification channel."""
    handler = Flow(name=names())
    if rng.random() < reach:
        number = phone(rng)
        handler["phone"] = number
        kind = rng.choice(("sms", "sms", "wecom", "group"))
        if kind == "sms":
            handler["channel"] = {"kind": "sms", "address": number}
        elif kind == "wecom":
            handler["channel"] = {"kind": "wecom", "address": f"wg-{unit_id.lower()}"}
        else:
            handler["channel"] = hook(f"grid/{unit_id}")
    return handler


def split(
    total: int, parts: int, rng: random.Random, minimum: int, first_minimum: int = 0
) -> list[int]:
    """``total`` split into ``parts`` uneven counts (each >= minimum), summing exactly."""
    weights = [rng.uniform(0.55, 1.6) for _ in range(parts)]
    floor = [max(minimum, first_minimum if i == 0 else 0) for i in range(parts)]
    spare = total - sum(floor)
    if spare < 0:
        raise ValueError(f"cannot split {total} into {parts} parts of at least {minimum}")
    shares = [spare * w / sum(weights) for w in weights]
    counts = [f + int(s) for f, s in zip(floor, shares, strict=True)]
    order = sorted(range(parts), key=lambda i: -(shares[i] - int(shares[i])))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


class Addresses:
    """Allocates address fragments in a community: buildings of compounds, numbers on roads."""

    def __init__(self, spec: CommunitySpec, rng: random.Random, reserved: set[str]) -> None:
        self.spec = spec
        self.rng = rng
        self.reserved = reserved
        self.next_building = dict.fromkeys(spec.compounds, 1)
        self.next_number = dict.fromkeys(spec.roads, 1)

    def _building(self, compound: str) -> str:
        while True:
            n = self.next_building[compound]
            self.next_building[compound] = n + 1
            fragment = f"{compound}{n}幢"
            if fragment not in self.reserved:
                return fragment

    def blocks(self, count: int) -> list[list[str]]:
        """``count`` address blocks (one per micro-grid): compounds first, then frontages."""
        spec, rng = self.spec, self.rng
        frontage = max(2, round(count * 0.25))
        per_compound = split(count - frontage, len(spec.compounds), rng, minimum=1)
        per_road = split(frontage, len(spec.roads), rng, minimum=1)
        out: list[list[str]] = []
        for compound, n in zip(spec.compounds, per_compound, strict=True):
            for _ in range(n):
                size = rng.choice((1, 2, 2, 2, 3, 3))
                out.append([self._building(compound) for _ in range(size)])
        for road, n in zip(spec.roads, per_road, strict=True):
            for _ in range(n):
                size = rng.choice((6, 8, 8, 10, 12))
                start = self.next_number[road]
                self.next_number[road] = start + size
                out.append([f"{road}{k}号" for k in range(start, start + size)])
        return out


# Coordinates (WGS-84): the old town of 沙县 around 26.396 N, 117.792 E, on the 沙溪河. 凤岗's
# communities lie north of the river, 虬江's south, each a block of micro-grids ~125 m apart
# (8 a row): plausible, not surveyed. The router resolves a request's lat/lon to the nearest.
STREET_ORIGIN = {"ST-FG": (26.4000, 117.7620, 1), "ST-QJ": (26.3880, 117.7680, -1)}
COMMUNITY_STEP = (0.0150, 0.0120)  # lat, lon between communities of a street (5 a row)
MICRO_STEP = (0.00112, 0.00125)  # lat, lon between micro-grids of a community (~125 m)
MICRO_ROW = 8
COMMUNITIES_ROW = 5


def centre(street: str, community: int, serial: int) -> tuple[float, float]:
    """The centre of the ``serial``-th micro-grid (from 1) of a street's ``community``-th (0-)."""
    lat0, lon0, north = STREET_ORIGIN[street]
    row, col = divmod(community, COMMUNITIES_ROW)
    mrow, mcol = divmod(serial - 1, MICRO_ROW)
    lat = lat0 + north * (row * COMMUNITY_STEP[0] + mrow * MICRO_STEP[0])
    lon = lon0 + col * COMMUNITY_STEP[1] + mcol * MICRO_STEP[1]
    return round(lat, 5), round(lon, 5)


def build_community(
    spec: CommunitySpec, rng: random.Random, names: Names, reserved: set[str], place: int
) -> dict[str, Any]:
    cid = f"CM-{spec.code}"
    fixed = [k for k in FIXED_MICROGRIDS if k.startswith(f"MG-{spec.code}-01-")]
    first_minimum = max((int(k[-2:]) for k in fixed), default=0)
    per_area = split(spec.microgrids, spec.areagrids, rng, 4, first_minimum)
    blocks = Addresses(spec, rng, reserved).blocks(spec.microgrids - len(fixed))
    blocks.reverse()
    areas = []
    serial = 0  # micro-grids are numbered within the community (府前社区第5微网格)
    for a, size in enumerate(per_area, start=1):
        aid = f"AG-{spec.code}-{a:02d}"
        micros = []
        for m in range(1, size + 1):
            serial += 1
            mid = f"MG-{spec.code}-{a:02d}-{m:02d}"
            lat, lon = centre(spec.street, place, serial)
            if mid in FIXED_MICROGRIDS:
                micros.append(Flow(id=mid, **FIXED_MICROGRIDS[mid], lat=lat, lon=lon))
                continue
            leader = person(rng, names, mid, reach=0.35)
            micros.append(
                Flow(
                    id=mid,
                    name=f"{spec.name}第{serial}微网格",
                    leader=leader,
                    addresses=blocks.pop(),
                    lat=lat,
                    lon=lon,
                )
            )
        fixed_leader = FIXED_AREA_LEADERS.get(aid)
        leader = Flow(name=fixed_leader) if fixed_leader else person(rng, names, aid, 0.5)
        areas.append(
            {"id": aid, "name": f"{spec.name}第{a}片区", "leader": leader, "microgrids": micros}
        )
    assert not blocks, f"{cid}: {len(blocks)} address blocks left over"
    secretary = Flow(name=FIXED_SECRETARIES.get(cid) or names())
    if cid not in FIXED_SECRETARIES:
        secretary["channel"] = hook(f"community/{cid}")
    return {
        "id": cid,
        "name": spec.name,
        "aliases": [*spec.compounds, *WHOLE_COMPOUNDS.get(cid, ())],
        "secretary": secretary,
        "convener": Flow(name=f"{spec.name}近邻恳谈会召集人"),
        "members": committee(spec),
        "areagrids": areas,
    }


def committee(spec: CommunitySpec) -> list[Flow]:
    """兼职委员 a community may whistle in (吹哨报到): the manager of its largest compound's
    property company and the local power station's representative. Named by role, not from
    the name generator, so the rest of the directory stays as it was."""
    compound = spec.compounds[0] if spec.compounds else spec.name
    return [
        Flow(
            id=f"JZ-{spec.code}-01",
            name=f"{compound}物业项目经理",
            org=f"{compound}物业服务中心",
            channel=hook(f"member/JZ-{spec.code}-01"),
        ),
        Flow(
            id=f"JZ-{spec.code}-02",
            name=f"{spec.name}供电所联络员",
            org="国网沙县供电公司",
            channel=hook(f"member/JZ-{spec.code}-02"),
        ),
    ]


def build_grid(rng: random.Random) -> dict[str, Any]:
    taken = {str(m["leader"]["name"]) for m in FIXED_MICROGRIDS.values()}
    names = Names(rng, taken | set(FIXED_SECRETARIES.values()))
    reserved = {a for m in FIXED_MICROGRIDS.values() for a in m["addresses"]}
    street_names, specs = parse_communities(COMMUNITY_TABLE)
    streets = []
    for street_id, street_name in street_names.items():
        communities = [
            build_community(spec, rng, names, reserved, place)
            for place, spec in enumerate(s for s in specs if s.street == street_id)
        ]
        handler = Flow(name=STREET_HANDLERS[street_id], channel=hook(f"street/{street_id}"))
        streets.append(
            {"id": street_id, "name": street_name, "handler": handler, "communities": communities}
        )
    return {"id": "D-SX", "name": "沙县区", "command_center": COMMAND_CENTER, "streets": streets}


# ---------------------------------------------------------------- departments

# id | name | short | duty handler | phone (optional)
DEPARTMENT_TABLE = """
DEP-CG | 区城市管理局       | 城管     | 城管局值班室           | 13905980110
DEP-SW | 区水务局           | 水务     | 水务局值班室           | 13905980111
DEP-GD | 国网沙县供电公司   | 供电     | 供电抢修中心           | 13905980112
DEP-MZ | 区民政局           | 民政     | 民政局社会救助股       |
DEP-GA | 区公安分局         | 公安     | 公安分局指挥中心       | 13905980113
DEP-RS | 区人社局           | 人社     | 人社局社保中心         |
DEP-ZJ | 区住建局           | 住建     | 住建局物业科           |
DEP-WJ | 区卫健局           | 卫健     | 卫健局医政股           |
DEP-JJ | 区公安分局交警大队 | 交警     | 交警大队值班室         | 13905980114
DEP-SJ | 区市场监督管理局   | 市场监管 | 市场监管局投诉举报中心 |
DEP-JY | 区教育局           | 教育     | 教育局基础教育股       |
DEP-HJ | 三明市沙县生态环境局 | 生态环境 | 生态环境执法大队     |
DEP-XF | 区消防救援大队     | 消防     | 消防救援大队值班室     | 13905980119
DEP-RQ | 沙县燃气公司       | 燃气     | 燃气抢修热线           | 13905980115
DEP-JT | 区交通运输局       | 交通     | 交通运输局运管股       |
"""


def parse_departments(table: str) -> list[Flow]:
    out = []
    for line in table.strip().splitlines():
        id_, name, short, handler, number = (cell.strip() for cell in line.split("|"))
        h = Flow(name=handler)
        if number:
            h["phone"] = number
        h["channel"] = hook(f"dept/{id_}")
        out.append(Flow(id=id_, name=name, short=short, handler=h))
    return out


# ---------------------------------------------------------------- categories

# code name tier resolution department [weight=w], then indented lines of keywords.
# A category's score is the total length of its matched keywords times its weight; the best
# score wins, so long specific phrases beat short generic ones. Generic context words (邻居,
# 请问) live in categories with a weight below 1 so that any specific category beats them.
CATEGORY_TABLE = """
corridor_light 楼道照明 local government -
    楼道灯 楼梯灯 声控灯 感应灯 楼道照明 楼梯间的灯 走廊灯 单元门灯 楼道里黑 楼梯黑
    楼道黑 楼梯就黑 灯泡 楼道没灯 楼道没有灯 楼梯没有灯 楼梯口 一闪一闪 灯管
    楼道的灯 楼梯的灯 楼道里的灯 楼梯间 楼的灯 层的灯 单元的灯 摸黑上楼 上下楼看不见 手机照 手电筒
streetlight 路灯照明 department government DEP-CG
    路灯 没有灯 太黑 照明 路灯不亮 没有路灯 路灯坏 黑灯瞎火 景观灯 走夜路 灯都没有 一盏灯
    路灯杆 灯杆 巷子里黑 路上太黑 没装路灯 装个路灯
sewage 排水管网 department government DEP-SW
    污水 下水道 管道堵塞 水管堵塞 排水管 排水不畅 化粪池 污水管 污水井 污水外溢 污水横流
    返水 倒灌 下水管 雨污管网 雨污分流 下水道堵 下水道都堵 下水 臭水 往上冒
    窨井 冒污水 污水冒 往外冒 反臭 返臭 粪水 马桶返水 漫出来 排污管
power 供电故障 department government DEP-GD
    停电 跳闸 电线 电表 断电 没电 来电 电压不稳 电压低 变压器 电缆 供电 电线老化 电闸
    老是跳 电线垂
    配电箱
    没电了 线路故障 电路 电线杆 变电箱 电表走 电费 供电所 漏电 电线裸露 冒火花 打火花
subsistence 低保救助 department charity DEP-MZ
    低保 因病致贫 困难救助 临时救助 特困 生活困难 救助金 大病救助 残疾人补贴 困难补助
    困难家庭 残疾补贴 没有收入 揭不开锅 残疾人 生病住院 看不起病
    护理补贴 残疾证 困难户 生活补助 低收入 特困供养 医疗救助 没钱看病 交不起
pension_auth 养老认证 local government -
    养老认证 养老金认证 社保认证 网上认证 资格认证 刷脸认证 待遇认证 人脸识别认证
    刷不过 认证不了 认证不过 生存认证 退休金认证
street_vendor 占道经营 department government DEP-CG
    摆摊 占道经营 流动摊贩 脏乱差 摊贩 出店经营 小贩 夜市摊 摊位 占道 夜市 卖菜 路边卖 城管
    占用人行道 摆到人行道 烧烤摊 摆烧烤 桌椅
    卖水果 摆地摊 地摊 流动摊 推车卖 小摊 摊子 菜贩
neighbour_dispute 邻里纠纷 consultation government - weight=0.7
    邻居 邻里 噪音 吵架 隔壁 两家 楼上住户 楼下住户 楼上那家 楼上邻居 楼下邻居 隔壁邻居
    对门邻居 装修噪音 装修扰民 漏水到我家 渗水到我家 拖椅子 跳绳 空调外机 滴水
    高跟鞋 弹珠 邻里关系 养鸽子 说了也不听 不听劝 打麻将 那户人家 吵得 被骂 洗牌
    养鸡 养鸭 打鸣 鸡叫 家禽
    楼上小孩 楼上的小孩 楼上的人 楼上装修 楼上漏水 楼下装修 对门 态度很差 态度恶劣 拍球 蹦跳 跺脚
    砸地板 走路声 咚咚 敲墙 狗叫 鞋架 雨棚 天花板 住户
public_facility 公共设施建设 city government -
    社区医院 改善社区医院 建农贸市场 新建农贸市场 农贸市场建设 建菜市场 没有菜市场
    像样的菜市场 农贸市场 停车场 建一所 规划建设 活动中心 公共厕所 配套设施 公办幼儿园 没有公园
    建公园 建停车场 改造工程 步道 栏杆 年久失修 整体改造
    公共停车场 停车难 图书馆 体育馆 游泳馆 养老院 公办中学 公办学校 建学校 建小学 建中学 再建一所
    拓宽 修桥 建桥 老桥 扩建 公厕 厕所太少
family_search 寻亲寻人 department charity DEP-GA
    寻亲 找妈妈 寻找母亲 失散 走失 寻找亲人 找不到家人 失联 亲生父母
    找孩子 孩子不见 走丢 失踪 找不到人 寻人
medical_emergency 突发疾病 city government DEP-WJ weight=0.6
    晕倒 昏迷 打120 急救 心脏病 不省人事 倒地 抽搐 呼吸困难 中暑 摔倒在地 受伤流血
    心肺复苏 摔伤 起不来 倒下 叫不醒 都是血 迷迷糊糊 昏过去 晕过去
    中风 脑梗 心梗 半边身子
    倒在地上 躺在地上 一动不动 叫不应 喘不上气 胸口疼 胸口痛 抽风 吐白沫 休克 昏倒 脸色发白
    嘴唇发紫 救护车 送医院 烧炭 煤炉 一氧化碳 误喝 误食 误服 农药 安眠药 突发 犯病 发作 头磕破
    流了好多血
home_repair 家电维修 local market -
    修台灯 家电维修 换零件 修理 维修师傅 热水器坏 洗衣机坏 空调坏 修水龙头 台灯 冰箱坏
    电视坏 修家电 不脱水 电饭煲 便民维修 维修点
    油烟机坏
    不制冷 不制热 修空调 修冰箱 修洗衣机 修热水器 修电视 修电脑 家电
other 其他诉求 local government -
construction_noise 施工噪音 department government DEP-CG
    施工噪音 夜间施工 施工扰民 工地噪音 打桩 机器轰鸣 半夜施工 搅拌机 连夜施工 施工到凌晨
    工地施工 施工 工地 挖掘机 挖机
    大货车 轰隆隆 轰鸣 切割 电锯 打钻 夜里施工 凌晨施工 工程车
public_noise 社会生活噪音 department government DEP-CG
    高音喇叭 音响 喇叭叫卖 大喇叭 KTV 酒吧 店铺音乐 循环播放 扩音器
    ktv 唱歌 唱到 卡拉OK 歌厅 棋牌室 蹦迪 喊麦 直播 音乐声 放音乐 大音箱 音箱
square_dance 广场舞扰民 consultation government -
    广场舞 跳舞的音乐 跳舞音响 跳舞 抢场地
garbage 垃圾清运 local government DEP-CG
    垃圾 垃圾桶 垃圾堆 没人清运 垃圾清运 垃圾满 垃圾分类 垃圾房 垃圾点 清运
    大件垃圾 旧沙发 床垫 废旧家具 没人搬 没人拉 垃圾站
construction_waste 渣土建筑垃圾 department government DEP-CG
    建筑垃圾 渣土 渣土车 装修垃圾乱倒 倾倒垃圾 泥土撒 撒落 撒了一路
water_supply 供水问题 department government DEP-SW
    停水 自来水 水压 没水 水质 水浑 发黄 黄水 水管爆裂 水管破裂 爆管 水管漏水 供水 怪味
    水龙头 一滴水 恢复供水 没有水
    总水管 水管爆 断水 水表 自来水公司 没水用 水很小 水压小 水上不去
road_damage 道路破损 department government DEP-CG
    坑洼 坑坑洼洼 路面破损 路面塌陷 道路破损 大坑 人行道砖 地砖松动 路面开裂 坑洼不平
    路不平 破损 铺设路面 小路 盲道 地砖 翘起 绊倒
    有个坑 一个坑 路面塌 凹陷 沉降 烂路 泥巴路
illegal_parking 违章停车 department government DEP-JJ
    乱停车 违停 违章停车 乱停乱放 堵住车库 挡住出口 停在人行道 僵尸车 车辆乱停 乱停
    占用车位 车乱停 共享单车 破车 长期停放 占着车位 废弃车辆 车库门口 挡住 出不去 停在门口 挡道
    共享电动车 占道停车 停在消防通道
property_mgmt 物业管理 department government DEP-ZJ weight=0.8
    物业费 物业公司 物业不作为 物业不管 物业服务 业委会 维修基金 业主 停车收费 换了物业
    物业交接
    物业 物业管理 物业经理 小区管理
elevator 电梯故障 department government DEP-SJ
    电梯 电梯故障 电梯坏 电梯停运 电梯异响 困电梯 电梯困人 关在电梯里 电梯老化
    困在电梯 关在电梯 电梯卡 电梯掉 电梯往下掉 电梯下坠 电梯门
stray_animal 犬只与流浪动物 department government DEP-GA
    流浪狗 流浪犬 野狗 流浪猫 狗咬人 被狗咬 咬伤 遛狗不拴绳 不拴绳 犬只 大型犬 烈性犬
    狗屎 狗咬 狗主人 养狗 的狗 大狗 咬出血 扑倒
    咬过人 咬人 很凶的狗 恶犬
food_safety 食品安全 department government DEP-SJ
    食品安全 过期食品 变质 吃坏肚子 食物中毒 无证经营 卫生状况 地沟油 后厨 拉肚子
    呕吐腹泻 过期 肚子疼 有苍蝇
    三无 辣条 肚子不舒服
    过期了 保质期 生产日期 霉变 吃出 异物
wage_arrears 拖欠工资 department government DEP-RS
    拖欠工资 欠薪 工资不发 讨薪 农民工工资 不发工资 拖欠薪资 工钱 克扣工资 劳动合同
    劳资纠纷 拖欠 工资 发工资
    不给钱 钱不给 不结钱 劳务费 血汗钱 辛苦钱 试用期 一分钱没 结工资
school_enrollment 入学教育 department government DEP-JY
    入学 上学 学位 招生 转学 学区 入园 就近入学 读书 课外培训 校外培训 转学手续 学籍
    上小学 上初中 公办初中 公办小学 积分入学 读初中 读小学
pollution 环境污染 department government DEP-HJ
    油烟 废气 排污 异味 臭味 污染 烧垃圾 焚烧 黑烟 河道污染 死鱼 粉尘 污水直排
    排放 刺鼻 排烟管 油烟味 偷排 往河里排 河水 变黑
    工厂 噪声 机器声
    养猪场 养殖场 猪场 鸡场 猪粪 鸡粪 化工厂 沥青 烧塑料 排黑水 黑水 排污口 飘过来 熏得
greening 树木绿化 department government DEP-CG
    树木 大树 树枝 修剪 树倒 倒伏 行道树 绿化带 草坪 毁绿 枯树 砍树 树根 种菜 绿化
    樟树 榕树 枝叶 遮挡阳光 采光 老树
    刮倒 吹倒 断枝 树干 横在路
manhole 井盖设施 department government DEP-CG
    井盖 窨井盖 下水道盖 下水道井盖 污水井盖
    井盖缺失 井盖松动 井盖破损 雨水井盖 井盖丢 盖子不见 盖板
high_throwing 高空抛物 consultation government -
    高空抛物 往下扔 楼上扔 高空坠物 抛物摄像头 从楼上扔 往楼下扔 楼上丢 往下丢
    高空抛物摄像头
elderly_care 居家养老 local charity DEP-MZ
    独居老人 空巢老人 居家养老 助餐 老年食堂 养老服务 上门照护 助浴 失能老人 高龄老人
    没人照顾 老年助餐 一个人住 独居 没人应 瘫痪 擦洗 子女都在外地 卧床
    送饭 送餐 上门服务 半身不遂 偏瘫 护理
housekeeping 家政便民服务 local market -
    家政 保洁 保姆 月嫂 钟点工 开锁 搬家 清洗油烟机 疏通马桶 马桶堵 疏通 打扫卫生
    育儿嫂 护工
    家里下水 厕所下水 厨房下水 地漏 水槽堵 洗手池 洗菜池 厕所堵 下水堵 通下水 上门通
volunteer_help 志愿帮扶 local charity -
    志愿者 志愿服务 代买 陪同就医 陪诊 辅导作业 爱心人士 捐赠 行动不便 跑腿 义剪 理发
    辅导 捐 热心市民 困难儿童
    买菜 送菜 帮忙买 代购 陪聊
gas 燃气问题 department government DEP-RQ
    燃气 煤气 天然气 液化气 燃气表 停气 燃气管道 煤气罐 气瓶 漏气 燃气味 煤气味 软管
fire_safety 消防安全 department government DEP-XF
    消防 消防通道 消防栓 灭火器 电动车充电 飞线充电 楼道充电 私拉电线 火灾隐患 起火 着火
    冒烟 失火 充电桩 浓烟 焦糊味 冒火 烧起来 电池 黑烟
    烟花爆竹 易燃易爆 鞭炮
    车棚 喷淋 烟雾报警器 燃气报警器 报警器 烟感 着过火 火警 灭火 消防车 火苗
corridor_clutter 楼道杂物 local government -
    堆放杂物 楼道杂物 堆满杂物 杂物 纸箱 占用楼道 堵住楼道 公共楼道
    楼道里堆 堆在楼道 过道 堆了一堆 旧家具 放在楼道
public_security 社会治安 department government DEP-GA
    小偷 盗窃 被偷 偷东西 诈骗 骗子 打架 斗殴 动手打 赌博 吸毒 可疑人员 治安 传销 报警
    民警 跳楼 轻生 持刀 砸门 闹事 威胁 恐吓 骗老人 保健品 被骗 债主 打起来 拿着刀 拿刀 行凶 砍伤
    网吧 未成年人 黄赌毒
    菜刀 要砍 砍我 家暴 打老婆 按在地上打 酒瓶 啤酒瓶 捅了一刀 不想活 活着没意思 天台 跳下去 自杀
    割腕 醉酒闹事
house_safety 房屋安全 department government DEP-ZJ
    危房 墙体开裂 外墙脱落 墙皮脱落 房屋裂缝 房屋安全 楼板开裂 承重墙 瓷砖脱落 外墙瓷砖
    屋顶漏雨 裂缝 渗水 屋顶 裂了 外墙 掉下来 水泥块 墙皮
    围墙
old_estate_renovation 老旧小区改造 city government DEP-ZJ
    旧房改造 老旧小区改造 旧改 加装电梯 改造提升 棚户区 筒子楼 征迁 拆迁 改造方案 纳入改造
    老旧小区
traffic_facility 交通设施 department government DEP-JJ
    红绿灯 信号灯 斑马线 人行横道 减速带 交通标志 交通拥堵 堵车 限速 十字路口 护栏
    路口拥堵
    水泄不通 拥堵
public_transport 公交出租 department government DEP-JT
    公交 公交车 公交站 班车 出租车 网约车 拒载 公交线路 站台 打车
employment 就业服务 department government DEP-RS
    找工作 就业 失业 招聘 技能培训 失业金 创业贷款 灵活就业 失业登记
social_insurance 社保医保 department government DEP-RS
    社保 医保 报销 养老保险 医疗保险 参保 社保卡 异地就医
    工伤 工伤认定
    支架 住院费 报多少 能报 医保卡
illegal_construction 违章搭建 department government DEP-CG
    违章搭建 违建 私搭乱建 乱搭建 加盖 搭棚 铁皮棚 私自搭建 圈占
small_ads 小广告 local government DEP-CG
    小广告 牛皮癣 乱贴 乱涂乱画 涂鸦 野广告 张贴广告 贴满
    喷了 喷涂 办证 电话号码
waterlogging 积水内涝 department government DEP-SW
    积水 内涝 淹水 水淹 排水口 路口积水 雨水 水深
    变成河 成了河 变成了河 一片汪洋 看海 被淹 泡水 熄火 暴雨 下大雨 一下大雨
consumer_rights 消费维权 department government DEP-SJ
    退款 消费纠纷 价格欺诈 缺斤短两 假冒伪劣 虚假宣传 预付卡 不给退 退卡 乱收费 办卡 跑路
    定金 要不回来 联系不上 收了钱
    退货 不给退货 商家 售后
medical_service 医疗卫生服务 department government DEP-WJ
    卫生院 社区卫生服务中心 看病 开药 疫苗 接种 门诊 医生 排队 医院 看不上病
    家庭医生 康复训练 康复 上门看 社区医生 降压药
pest_control 病媒消杀 local government -
    老鼠 蟑螂 蚊子 白蚁 消杀 灭鼠 马蜂窝 蚊虫
    蚂蚁 臭虫 跳蚤
facility_repair 公共设施维修 local government -
    健身器材 座椅 宣传栏 单元门 门禁 扶手 晾衣架 凉亭 休息椅 信报箱
    长椅 椅子 长凳 凳子 秋千 滑梯 游乐设施 宣传窗 公告栏 花坛 道闸 门铃 对讲
accident_rescue 意外事故救援 city government DEP-XF weight=0.6
    落水 溺水 被困在 坍塌 倒塌 车祸 触电 人掉进 掉进河 掉进水里 掉进井 压在下面 被撞
    爆炸 撞倒
    不会游泳 在水里扑腾
    滑进河 掉进 掉下去 漂着 被电 电到 碰到电线 碰到了电线 压在底下 被压 脚手架 卷到车底 车底下
    撞了 摔下来 掉下来了 坠楼 水里挣扎 救上来
rental_dispute 房屋租赁纠纷 consultation government -
    房东 租客 押金 退租 房租 租房 租金 中介费 扣押金
    租的房子 租房子 出租房 退房 租期
policy_inquiry 政策咨询 local government - weight=0.6
    咨询 想问一下 请问 怎么办理 需要什么材料 办理流程 居住证 老年大学 老年证 怎么报名
    讲座 安全知识 防溺水 科普 法律咨询
"""


def parse_categories(table: str) -> list[Flow]:
    out: list[Flow] = []
    for line in table.strip().splitlines():
        if line.startswith(" "):
            out[-1]["keywords"] += words(line)
            continue
        code, name, tier, resolution, department, *options = line.split()
        category = Flow(code=code, name=name, tier=tier, resolution=resolution)
        if department != "-":
            category["department"] = department
        category["keywords"] = []
        for option in options:
            key, value = option.split("=")
            category[key] = float(value)
        out.append(category)
    for category in out:  # keep the weight last, after the keywords, for the reader
        if "weight" in category:
            category["weight"] = category.pop("weight")
        rule = DUPLICATES.get(category["code"])
        if rule is not None:
            scope, window = rule.split()
            duplicates = Flow(scope="radius_m" if scope.isdigit() else scope)
            if scope.isdigit():
                duplicates["radius_m"] = int(scope)
            duplicates["window"] = window
            category["duplicates"] = duplicates
    return out


# Repeat reports (多次反映), FixMyStreet-like: a request is a repeat of an open ticket of its
# category in the same building, the same micro-grid, or within so many metres (lat/lon), reported
# within the window. Categories not listed are each caller's own case (an allowance, a dispute).
DUPLICATES = {
    "corridor_light": "building P7D",
    "elevator": "building P7D",
    "house_safety": "building P14D",
    "corridor_clutter": "building P7D",
    "sewage": "building P3D",
    "gas": "building P1D",
    "fire_safety": "building P7D",
    "small_ads": "building P7D",
    "pest_control": "building P14D",
    "power": "microgrid P1D",
    "water_supply": "microgrid P1D",
    "garbage": "microgrid P2D",
    "facility_repair": "microgrid P7D",
    "streetlight": "250 P7D",
    "road_damage": "100 P14D",
    "manhole": "50 P3D",
    "waterlogging": "300 P1D",
    "greening": "100 P7D",
    "traffic_facility": "100 P3D",
    "illegal_parking": "100 P1D",
    "illegal_construction": "50 P30D",
    "street_vendor": "200 P3D",
    "construction_noise": "300 P3D",
    "public_noise": "200 P3D",
    "pollution": "500 P3D",
    "construction_waste": "200 P3D",
    "stray_animal": "300 P3D",
}


# ---------------------------------------------------------------- lexicon, rules, deadlines

# Life safety. A danger is reported by a word (着火, 中风), or by words that together say it (a
# person + a critical state: 老人 + 倒地; a gas + a leak). Time and framing then tell a live
# danger from a past, resolved, hypothetical one or from a question about a service; see
# schemas.policy.Lexicon for how each list is read.

PEOPLE = words("""
    有人 一个人 这个人 那个人 两个人 几个人 老人 老年人 老人家 病人 路人 行人 工人 家人 男人
    女人 大爷 大妈 大叔 大姐 大哥 阿姨 叔叔 奶奶 爷爷 外婆 外公 姥姥 姥爷 老太太 老太 老头
    老伯 孩子 小孩 小朋友 儿童 学生 婴儿 宝宝 孕妇 男的 女的 男子 女子 小伙 姑娘 骑手 外卖员
    快递员 环卫工 保安 司机 乘客 住户 租客 邻居 老板 店员 员工 工友 师傅 父亲 母亲 我爸 我妈
    爸爸 妈妈 老伴 丈夫 妻子 老公 老婆 儿子 女儿 患者 游客 居民 同事 室友 的人 个人 骑车的
    骑电动车的 开车的 路过的 年轻人 小伙子 男孩 女孩
""")
ELDERS = words("""
    老人 老年人 老人家 老太太 老太 老头 老大爷 大爷 大妈 阿姨 奶奶 爷爷 外婆 外公 姥姥 姥爷
    我妈 我爸 母亲 父亲 老母亲 老父亲 婆婆 公公
""")
DEPENDANTS = words("""
    老人 老人家 老太太 老大爷 孩子 小孩 小朋友 儿子 女儿 学生 我爸 我妈 父亲 母亲 奶奶 爷爷
    外婆 外公 痴呆 智力障碍 精神病
""")
CRITICAL_STATES = words("""
    倒地 倒在地上 倒在地 倒在路边 倒在路上 倒在家里 倒在门口 倒在楼道 躺在地上 躺地上 趴在地上
    摔在地上 摔倒在地 歪倒 瘫倒 栽倒 昏倒 晕倒 晕了 昏了 昏迷 休克 晕过去 昏过去 站不起来
    起不来 爬不起来 没反应 没有反应 没了反应 不动了 一动不动 没动静 没意识 没有意识 意识不清
    神志不清 不省人事 叫不醒 喊不醒 叫不应 喊不应 说不出话 说话不清 话都说不清 口齿不清 嘴歪
    嘴唇发紫 脸色发紫 脸发紫 脸色发白 脸色苍白 面色苍白 翻白眼 喘不上气 喘不过气 上不来气
    透不过气 倒下了 倒下 呼吸困难 没呼吸 没有呼吸 没气了 胸口疼 胸口痛 胸口剧痛 心口疼 抽搐 口吐白沫
    浑身发抖 一直吐 吐个不停 吐血 大出血 流了好多血 好多血 很多血 一地血 都是血 满身是血
    满脸是血 头破血流 血流不止 流血不止 血止不住 骨折 烧伤 烫伤 中暑 发作 犯病了 病发 抽风
    吐白沫 头磕破 磕破了头 也不应 都不应 不应声 没应声 迷迷糊糊 迷迷瞪瞪 晕晕乎乎 晕在
    头上流血 头流血 头在流血 满头是血 头部流血 憋紫 发紫 噎住 噎到 呛到了 被呛 卡在喉咙 卡住喉咙
    不会哭了
""")
WATER_STATES = words("""
    落水了 溺水 掉进水 掉水里 掉进河 掉河里 掉到河里 掉进池塘 掉进湖 掉进江 掉进水库 沉下去
    没浮上来 浮不上来 被水冲走 被冲走 冲走了 在水里扑腾 呛水 不会游泳 在水里挣扎 水里挣扎
""")
FALLING_IN = words("掉进 掉到 掉下去 掉下 掉入 跌进 跌入 落入 滑进 栽进 漂着 泡在 卷走")
WATERS = words("河 水里 水中 塘 湖 江 井 沟 渠 海 泳池 水库 溪")
SMOKE = words("""
    冒烟 冒黑烟 冒白烟 冒浓烟 冒出烟 冒出黑烟 冒出浓烟 冒着烟 浓烟 黑烟 烟雾 起烟 全是烟 都是烟
    满屋子烟 满屋烟 一屋子烟
""")
INDOORS = words("""
    屋里 屋子 房子 房间 家里 楼里 楼道 窗户 窗口 门缝 阳台 厨房 车库 地下室 仓库 出租屋 宿舍
    电箱 配电箱 电表箱 电线 插座 电动车 电瓶车 电瓶 充电 里面
""")
LIVING_ALONE = words("""
    独居 一个人住 一个人在家 独自住 独自一人 独自在家 孤寡 空巢 自己住 自己一个人 单独住
    一个人生活 一个人过
""")
NOT_SEEN = words("""
    天没 天都没 天不见 日没 多日 好几天 几天 一直没 联系不上 打不通 没人接 没人应 没人开门
    敲门没 没有动静 没动静 不开门 没回
""")

PATTERNS = [
    Flow(
        id="person-critical",
        category="medical_emergency",
        description="有人处于危急状态:人 + 倒地/没反应/呼吸困难/抽搐/大量出血…",
        groups=[PEOPLE, CRITICAL_STATES],
    ),
    Flow(
        id="pronoun-critical",
        category="medical_emergency",
        description="他/她 + 危急状态,紧挨着(他倒在地上):代词只在紧跟危急状态时算作有人",
        groups=[words("他 她 他们 她们"), CRITICAL_STATES],
        within=5,
        ordered=True,
    ),
    Flow(
        id="person-in-water",
        category="accident_rescue",
        description="有人落水、溺水或被水冲走",
        groups=[PEOPLE, WATER_STATES],
    ),
    Flow(
        id="person-falls-into-water",
        category="accident_rescue",
        description="有人掉进河、塘、井、水库",
        groups=[PEOPLE, FALLING_IN, WATERS],
        within=20,
    ),
    Flow(
        id="person-electrocuted",
        category="accident_rescue",
        description="有人触电、被电到",
        groups=[
            PEOPLE,
            words("被电 电到了 被电到 电击 碰到电线 碰到了电线 摸到电线 碰了电线 碰到电箱"),
        ],
    ),
    Flow(
        id="person-hit-or-buried",
        category="accident_rescue",
        description="有人被砸、被压、被埋",
        groups=[
            PEOPLE,
            words("""
            被砸 砸到了 砸中 砸倒 被压 压住 压在 埋在 被埋 卡住了 卷到车底 卷进车底 车底下 被车压
            碾压 被碾 被撞飞 撞飞了
        """),
        ],
        within=16,
    ),
    Flow(
        id="person-fell-from-height",
        category="accident_rescue",
        description="有人坠楼、从高处摔下",
        groups=[
            PEOPLE,
            words("坠楼 从楼上掉 从楼上摔 从窗户掉 从阳台掉 摔下来 掉下来了 跌下来 坠落"),
        ],
        within=16,
    ),
    Flow(
        id="person-trapped",
        category="accident_rescue",
        description="有人被困(电梯、车内、屋内)",
        groups=[PEOPLE, words("被困 困在 困住 锁在车里 关在车里 卡在")],
        within=10,
        ordered=True,
    ),
    Flow(
        id="lift-stuck-with-person",
        category="elevator",
        description="电梯卡住、停在半空,里面有人",
        groups=[
            words("电梯"),
            words("卡在 卡住 停在 困在 关在 被困 困住 出不来 打不开 下坠 坠落 往下掉 掉下去"),
            PEOPLE,
        ],
        within=30,
    ),
    Flow(
        id="person-poisoned",
        category="medical_emergency",
        description="有人服毒、误食、吃错药",
        groups=[
            PEOPLE,
            words("""
            喝了农药 喝农药 喝药 吃了安眠药 吃安眠药 吞了 误食 误服 吃错药 喝了消毒液
            喝了洗洁精 吞药 误喝 误吃 瓶农药
        """),
        ],
    ),
    Flow(
        id="many-sick-at-once",
        category="medical_emergency",
        description="多人同时呕吐、中毒(群体性)",
        groups=[
            words("十几个人 十多个人 几十个人 好几个人 好多人 很多人 多人 全班 一群人 一桌人"),
            words("呕吐 上吐下泻 中毒 口吐白沫 昏迷 晕倒 送医"),
        ],
    ),
    Flow(
        id="person-attempting-suicide",
        category="medical_emergency",
        description="有人站在高处或桥边,有轻生迹象",
        groups=[
            PEOPLE,
            words("""
            翻过栏杆 翻过了栏杆 翻到栏杆外 站在栏杆外 爬上栏杆 站在楼顶边 站在天台边 坐在窗台上
            站在桥边 爬到楼顶 坐在楼顶边
        """),
        ],
    ),
    Flow(
        id="charcoal-fumes",
        category="medical_emergency",
        description="烧炭、煤炉或燃气热水器 + 头晕恶心等一氧化碳中毒症状",
        groups=[
            words("烧炭 炭火 炭盆 木炭 煤炉 煤球炉 烤火 一氧化碳 燃气热水器 热水器 煤气"),
            words("""
                头晕 头疼 头痛 恶心 呕吐 想吐 昏 晕 叫不醒 不舒服 站不起来 没反应 迷糊 难受 没力气
                浑身无力 乏力
            """),
        ],
    ),
    Flow(
        id="gas-leak",
        category="gas",
        description="燃气、煤气、液化气泄漏",
        groups=[
            words("煤气 燃气 天然气 液化气 气瓶 煤气罐 液化气罐 钢瓶 燃气管 燃气灶 气罐"),
            words("漏 泄漏 泄露 嘶嘶 呲呲 喷气 往外喷 断了 味道很重 臭鸡蛋味 气味 一股味"),
        ],
        within=10,
    ),
    Flow(
        id="smoke-indoors",
        category="fire_safety",
        description="屋里、楼道、电箱、电动车冒烟(火情)",
        groups=[SMOKE, INDOORS],
        within=12,
    ),
    Flow(
        id="thing-on-fire",
        category="fire_safety",
        description="锅、窗帘、电线、车等东西着起来了",
        groups=[
            words("""
                油锅 锅里 窗帘 被子 电线 插座 电视 沙发 床上 车子 汽车 房子 屋子 电动车 电瓶车 柴堆
                草垛 仓库 厨房 楼上 对面
            """),
            words("着了 烧着 燃了 着起来 烧起来 冒火 冒火苗 起火苗"),
        ],
        within=6,
        ordered=True,
    ),
    Flow(
        id="elder-living-alone-unseen",
        category="elderly_care",
        description="独居老人多日不见、联系不上、敲门不应",
        groups=[LIVING_ALONE, NOT_SEEN],
        within=30,
        acute=True,
    ),
    Flow(
        id="elder-no-answer",
        category="elderly_care",
        description="老人家中敲门不应、没有动静",
        groups=[
            ELDERS,
            words("敲门 喊门 叫门 按门铃"),
            words("没人应 没应 没反应 没人开 不开门 没动静 没人理"),
        ],
        within=30,
        acute=True,
    ),
    Flow(
        id="elder-unseen-for-days",
        category="elderly_care",
        description="老人好几天没出门、没接电话",
        groups=[
            ELDERS,
            words("几天没 好几天没 天没 天都没 多日未 多天没 多日没"),
            words("出门 露面 见 接电话 联系 下楼 开门 动静 人影 回消息"),
        ],
        within=30,
        acute=True,
    ),
    Flow(
        id="dependant-missing",
        category="family_search",
        description="老人、孩子或失智者走失、找不到了",
        groups=[
            DEPENDANTS,
            words("走失 走丢 不见了 失踪 没回家 一夜没回 还没回来 找了一"),
        ],
        ordered=True,
    ),
]

LEXICON = {
    # Life-safety words: a kind of danger, live unless time or framing defuses it.
    "emergency": words("""
        晕倒 昏迷 不省人事 昏过去 晕过去 昏倒 休克 起火 着火 失火 发生火灾 火势 冒火 烧起来
        燃起来 烧着了 着了火 火苗 大火 爆燃 冒火花 打火花 火花四溅 浓烟滚滚 煤气泄漏 燃气泄漏
        天然气泄漏 液化气泄漏 煤气泄露 燃气泄露 煤气味 燃气味 天然气味 液化气味 漏气 一氧化碳
        溺水 有人落水 人落水 孩子落水 小孩落水 掉进水里 掉进河 人掉进 孩子掉进 触电 跳楼 跳河
        跳江 跳桥 轻生 自杀 寻短见 割腕 上吊 寻死 想不开 呼吸困难 大量出血 都是血 心脏骤停
        心肺复苏 抽搐 电梯困人 被困电梯 困在电梯 关在电梯 坍塌 倒塌 持刀 砍人 被砍 捅伤 被捅
        捅了 刺伤 被刺 动刀子 有人受伤 受伤流血 头部受伤 砸伤 打伤 打晕 打破了头 砸破了头
        砸破头 头破血流 围殴 家暴 摔倒在地 倒地不起 起不来 走失 走丢 食物中毒 中毒 误食 误服
        爆炸 压在下面 拿着刀 拿刀 追着人砍 行凶 砍伤 口吐白沫 中风 脑梗 心梗 心脏病发
        半边身子动不了 不会游泳 救护车 打120 叫120 拿着菜刀 拿菜刀 要砍 砍我 要杀 杀我 杀人 误喝
        头被打破 头被砸破 头打破了 头破了 追着人打 拿着砖头 拿着棍子 拿着铁棍 油锅着火 火窜 火蹿
        蹿火 窜火
    """),
    # Words that report a danger seen now: a question or a worry in the text does not defuse them.
    "acute": words("""
        救命 叫不醒 喊不醒 没有呼吸 没呼吸 没了呼吸 没有心跳 口吐白沫 血流不止 流血不止 血止不住
        在水里扑腾 没浮上来 浮不上来 被困在电梯里 困在电梯里 不想活了 不想活 要跳楼 要跳河
        活着没意思 活不下去 想死 一了百了 要跳下去 想跳下去 要往下跳
    """),
    "patterns": PATTERNS,
    # Disagreements settled at the 近邻恳谈会 (consultation).
    "dispute": words("""
        纠纷 矛盾 争执 吵架 意见不一 意见不统一 不同意 分歧 争吵 扯皮 协商 调解 互不相让
        谈不拢 各执一词 有意见 不愿意 反对 不承认 评评理 评理 僵持 闹僵 搞僵 吵起来
        闹得不愉快 不愉快 闹矛盾 闹得很僵 翻脸 吵翻 红了脸 互相指责 定不下来 达不成一致
        没法商量 不肯赔 不愿赔 拒绝赔偿 不赔 不肯出钱 不愿出钱 不肯修 不愿修 非说是我
        说是我弄 赖我 怪我 他说不是 他家不承认 不讲理 不配合 有人赞成 有人支持 意见很大 吵了几次
        吵了好几次 吵过好几次 一部分业主 有的业主 各有各的想法 对方态度
    """),
    # Negated or defused phrases, blanked out before any matching.
    "exclude": words("""
        无人受伤 没有人受伤 没人受伤 未受伤 没有受伤 无人员伤亡 没有人员伤亡 无人伤亡 没有伤亡
        未造成人员伤亡 未起火 没有起火 没起火 未着火 没有着火 没着火 差点着火 没有晕倒
        无生命危险 没有生命危险 没有泄漏 未泄漏 没有漏气 没漏气 没有中毒 差点砸伤 险些砸伤
        没有纠纷 没有矛盾 不是纠纷 不是急事 不紧急 救命钱 狗走失 猫走失 宠物走失 狗走丢 猫走丢
        倒塌的危险 倒塌危险 倒塌风险 坍塌风险 坍塌的危险 手机中毒 电脑中毒 轮胎漏气 车胎漏气
        触电危险 触电隐患 防触电 发烧 没有冒烟 没冒烟 没有流血 没流血 没有骨折 打不着火 点不着火
        打着火 点着火 着火点
    """),
    # Time words: the nearest before a signal dates it (now, or over).
    "live": words("""
        现在 正在 刚刚 刚才 此刻 目前 这会儿 还在 仍在 今天 今早 今晚 今天早上 今天上午 今天下午
        今天晚上 今日 开始 以来 至今 到现在 到今天 小时了 分钟了
    """),
    "past": words("""
        昨天 昨晚 昨日 前天 前晚 上周 上星期 上礼拜 上个月 上月 去年 前年 以前 之前 曾经 当时
        那次 那天 上次 前几天 前些天 前阵子 前段时间 前些日子 年前 月前 天前 周前 早些年 小时候
        年了 个月了 多年 好几年 以往 往年
    """),
    # After a signal: the danger is over.
    "resolved": words("""
        已扑灭 已经扑灭 扑灭了 被扑灭 已灭火 已经灭火 火已扑灭 已经灭了 火灭了 灭掉了 已经送医
        已送医 送到医院了 送去医院了 送医院了 送进医院 住院了 已经住院 出院了 已经出院 抢救过来
        救过来了 救上来了 被救起 救起来了 救出来了 已经救出 已经出来了 已脱困 已经脱困 脱困了
        醒过来了 已经醒了 没事了 已经没事 说没事 人没事 没什么事 没什么大碍 无大碍 已经好了
        已经修好 修好了 已处理 已经处理 处理好了 已关阀 关了阀门 关掉了阀门 关了总阀 已经找到
        找到了 找回来了 检查过 查过了 看过了 排查过
    """),
    # In a signal's clause: it is not happening (a worry, a risk, a habit, a lesson).
    "hypothetical": words("""
        万一 如果 假如 假设 要是 一旦 的话 以防 防止 预防 防范 防溺水 隐患 担心会 担心 怕会 生怕
        就怕 怕出事 会不会 容易 随时可能 可能会 有可能 差点 险些 差一点 经常 天天 每天 总是
        老是 常常 时常 三天两头 动不动 偶尔 有时 每次 每年 一到 培训 演练 讲座 宣传 科普 教大家
        知识 报警器 排查 检查一下 来检查 禁止 严禁 不要 真要 哪天
    """),
    # Anywhere: the caller asks about a service rather than reports a danger.
    "inquiry": words("""
        申请 补贴 补助 救助 低保 咨询 想问 请问 问问 问一下 想了解 了解一下 怎么办理 如何办理
        办理 手续 政策 报销 医保 社保 证明 材料 报名 培训 讲座 安装 想装 加装 更换 推荐 多少钱
    """),
    # Anywhere: the caller wants help now (keeps a signal live despite an inquiry word).
    "urgency": words("""
        救命 快来 快点 快派 快过来 赶紧 赶快 马上 立刻 立即 火速 请速 速来 紧急 急救 抢救 120 110
        119 救护车 报警
    """),
    "related_share": 0.5,
    "related_min": 3.0,
}


def rule(id_: str, description: str, when: dict[str, Any], then: dict[str, Any]) -> Flow:
    return Flow(id=id_, description=description, when=when, then=then)


# In order: a later rule that sets a tier overrides an earlier one; raise_to only raises, and
# never raises a consultation (杂事协商解 stays with the meeting).
RULES = [
    rule(
        "dispute-consultation",
        "纠纷与分歧类诉求协商解(近邻恳谈会)",
        {"lexicon": "dispute"},
        {"tier": "consultation"},
    ),
    rule(
        "dispute-with-department",
        "劳资、消费、治安、食品纠纷有法定主管部门,仍由部门解",
        {
            "lexicon": "dispute",
            "categories": ["wage_arrears", "consumer_rights", "public_security", "food_safety"],
        },
        {"tier": "department"},
    ),
    rule(
        "repeated-reports",
        "群众反映多次的小事升级为中事",
        {
            "keywords_any": words(
                "多次反映 反映多次 反复反映 多次投诉 投诉多次 一直没人管 屡次 "
                "反映了好几次 打了好几次"
            )
        },
        {"raise_to": "department"},
    ),
    rule(
        "wide-area",
        "波及整栋楼、整个小区或整条街的小事升级为中事",
        {"keywords_any": words("整个小区 全小区 整栋楼 整个单元 整条街 整片 好几栋楼 多个小区")},
        {"raise_to": "department"},
    ),
    rule(
        "many-households",
        "影响100户以上升级为大事",
        {"households_at_least": 100},
        {"raise_to": "city"},
    ),
    rule(
        "some-households",
        "影响20户以上的小事升级为中事",
        {"households_at_least": 20},
        {"raise_to": "department"},
    ),
    rule(
        "multi-department",
        "涉及多个部门的事项由区级统筹",
        {"departments_at_least": 3},
        {"raise_to": "city"},
    ),
    rule(
        "cross-department",
        "明确需要多部门联动或部门间推诿的事项由区级统筹",
        {
            "keywords_any": words("""
                多个部门 多部门 联合整治 联合执法 互相推诿 相互推诿 几个部门 踢皮球 推来推去 互相推
                相互推 说归 不归我们管 都说不归 都不管
            """)
        },
        {"raise_to": "city"},
    ),
    rule(
        "multi-area",
        "跨多个社区、片区或全区的事项大事全市解",
        {
            "keywords_any": words("""
                统筹规划 多个片区 几个片区 三个片区 多个社区 几个社区 全区 全县 全城 整个城区 老城区
                几个小区 多个小区 整个街道
            """)
        },
        {"raise_to": "city"},
    ),
    rule(
        "no-live-danger",
        "突发疾病、意外事故类诉求当前已无危险(事后、咨询、隐患),由部门跟进",
        {"categories": ["medical_emergency", "accident_rescue"]},
        {"tier": "department"},
    ),
    rule(
        "life-safety",
        "危及生命安全的诉求越过分级,由区指挥中心统一调度(最后判定,覆盖协商)",
        {"lexicon": "emergency"},
        {"emergency": True, "tier": "city"},
    ),
]

DEADLINES = {
    "local": Flow(claim="PT2H", resolve="P3D"),
    "consultation": Flow(claim="PT4H", resolve="P7D"),
    "department": Flow(claim="PT4H", resolve="P5D"),
    "city": Flow(claim="PT8H", resolve="P15D"),
    "emergency": Flow(claim="PT10M", resolve="PT2H", clock="wall"),
}

CALENDAR_YEARS = (2025, 2026)  # the years the chinese-calendar package publishes


def build_calendar() -> dict[str, Any]:
    """Working hours of Fujian's offices, and the State Council's holiday arrangement:
    holidays on weekdays and the 调休 weekend days worked, from the chinese-calendar package."""
    import chinese_calendar

    first, last = date(CALENDAR_YEARS[0], 1, 1), date(CALENDAR_YEARS[-1], 12, 31)
    holidays = [d for d in chinese_calendar.get_holidays(first, last) if d.weekday() < 5]
    workdays = [d for d in chinese_calendar.get_workdays(first, last) if d.weekday() >= 5]
    return {
        "hours": [Flow(start="08:30", end="12:00"), Flow(start="14:30", end="17:30")],
        "holidays": [d.isoformat() for d in holidays],
        "workdays": [d.isoformat() for d in workdays],
        "known_until": last.isoformat(),
    }


# 12345 work order: every 退单 is reviewed by the centre (Beijing's 审定); 延期 at most twice,
# each at most a week past the deadline it replaces; 催办 at 3/4 of each claim and resolve window.
LIFECYCLE: dict[str, Any] = {
    "reject_review": True,
    "reject_reasons": {
        "not_our_area": "属地不符",
        "not_our_duty": "职责不符",
        "duplicate": "重复诉求",
        "need_more_info": "诉求信息不全",
    },
    "invalid_reasons": {
        "outside_remit": "不属于受理范围",
        "malicious_repeat": "恶意重复诉求",
        "unreasonable": "不合理诉求",
        "no_content": "无实质内容",
    },
    "extensions": 2,
    "extend_at_most": "P7D",
    "remind_at": 0.75,
}


# ---------------------------------------------------------------- output


def build() -> dict[str, Any]:
    rng = random.Random(SEED)
    return {
        "name": "shaxian-sample",
        "timezone": "Asia/Shanghai",
        "default_category": "other",
        "district": build_grid(rng),
        "departments": parse_departments(DEPARTMENT_TABLE),
        "categories": parse_categories(CATEGORY_TABLE),
        "lexicon": LEXICON,
        "rules": RULES,
        "deadlines": DEADLINES,
        "calendar": build_calendar(),
        "lifecycle": LIFECYCLE,
        # 三率考核 as Beijing weighs it: 响应率 30%, 解决率 35%, 满意率 35%
        "assessment": {"weights": Flow(response=0.30, resolution=0.35, satisfaction=0.35)},
        # 五闪积分 (贵阳): points for a report whose ticket was resolved, by what the volunteer did
        "volunteers": {"points": Flow(help=5, photo=2, publicity=2, remove=2, report=10)},
        # 解忧超市 (北海): the mini-program's worries are put on the shelf for a day
        "shelf": {"sources": ["miniprogram"], "shelf_hours": 24},
    }


HEADER = """\
# Sample district policy modelled on 沙县区 (Sanming, Fujian): 2 streets, 17 communities,
# 115 area grids, 988 micro-grids. GENERATED by tools/gen_sample_district.py: edit the
# generator, not this file.
"""


def render(policy: dict[str, Any]) -> str:
    """YAML with one line per micro-grid; other flow mappings wrapped at 100 columns."""
    parts = [HEADER]
    for key, value in policy.items():
        if not isinstance(value, (dict, list)):
            parts.append(
                yaml.dump({key: value}, Dumper=Dumper, allow_unicode=True, default_flow_style=False)
            )
            continue
        width = 10_000 if key == "district" else 100
        parts.append("\n")
        parts.append(
            yaml.dump(
                {key: value},
                Dumper=Dumper,
                allow_unicode=True,
                sort_keys=False,
                width=width,
                default_flow_style=None,
            )
        )
    return "".join(parts)


def check(policy: dict[str, Any]) -> None:
    """The counts the seeds give, and address fragments that locate unambiguously."""
    communities = [c for s in policy["district"]["streets"] for c in s["communities"]]
    areas = [a for c in communities for a in c["areagrids"]]
    micros = [m for a in areas for m in a["microgrids"]]
    counts = (len(communities), len(areas), len(micros))
    expected = (TOTAL_COMMUNITIES, TOTAL_AREAGRIDS, TOTAL_MICROGRIDS)
    assert counts == expected, f"grid counts {counts} != {expected}"
    fragments = [f for m in micros for f in m["addresses"]]
    assert len(fragments) == len(set(fragments)), "an address fragment is used twice"
    ordered = sorted(fragments, key=len)
    for i, short in enumerate(ordered):
        for long in ordered[i + 1 :]:
            assert short not in long, f"fragment {short!r} is inside {long!r}"
    # As the router compares them (5栋 = 5幢, 小区 dropped): still one micro-grid each.
    from services.router.kernel.locate import normalise

    written = [normalise(f) for f in fragments]
    assert len(written) == len(set(written)), "two fragments read the same once normalised"
    for category in policy["categories"]:
        words = category["keywords"]
        assert len(words) == len(set(words)), f"{category['code']}: a keyword is listed twice"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the file on disk differs from what would be generated",
    )
    args = parser.parse_args(argv)
    policy = build()
    check(policy)
    text = render(policy)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run tools/gen_sample_district.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
