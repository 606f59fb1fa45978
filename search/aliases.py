"""Everyday names of service types (环评 for 环境影响评价...), added to the indexed text of every
document about such a service, so the short name and the long name both find it whatever the
backend. Matched on the service type's official name; operators extend the list in code."""

from __future__ import annotations

# (a fragment of the official service-type name, the names people search with)
SERVICE_TYPE_ALIASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("环境影响", ("环评", "环境影响评价", "环境评价")),
    ("安全评价", ("安评", "安全评估")),
    ("安全预评价", ("安评", "安全评价")),
    ("职业病危害", ("职评", "职业卫生评价")),
    ("水土保持", ("水保", "水保方案")),
    ("节能", ("能评", "节能评估")),
    ("社会稳定风险", ("稳评", "社会稳定风险评估")),
    ("地质灾害", ("地灾评估", "地灾")),
    ("可行性研究", ("可研", "可研报告")),
    ("造价", ("造价咨询", "工程造价")),
    ("测绘", ("测量", "测绘")),
    ("地震安全性", ("地震安评", "震评")),
    ("防雷", ("防雷检测", "雷电")),
    ("压覆矿产", ("压矿评估",)),
    ("洪水影响", ("洪评", "防洪评价")),
    ("交通影响", ("交评", "交通评价")),
    ("文物", ("文物勘探", "考古勘探")),
)


def aliases_for(service_type_name: str) -> list[str]:
    """The everyday names for a service type, from its official name."""
    found: list[str] = []
    for fragment, names in SERVICE_TYPE_ALIASES:
        if fragment in service_type_name:
            found.extend(n for n in names if n not in found)
    return found
