"""三率考核 and 每月一题: the reports a district is run by (CONTRACT.md, "Reports (v2)").

One definition, imported by the command (``dispatch report``) and the console (``/api/assessment``,
``/api/hotspots``): the recorded events are folded into per-ticket facts (``facts.py``), and the
reports are pure functions of the facts, a period and the policy. Imports ``schemas`` only.
"""

from services.reports.assess import assessment
from services.reports.facts import Ledger, TicketFacts
from services.reports.hotspots import hotspots
from services.reports.period import Period, PeriodError

__all__ = ["Ledger", "Period", "PeriodError", "TicketFacts", "assessment", "hotspots"]
