"""The auditors' replay (CONTRACT.md, "Audit replay"): every ticket's timeline, deadline
compliance, and a re-run of the router's pure core over the recorded inputs (``--verify``).

Pure: log.py (the records read), order.py (a ticket's inputs in the router's order),
policies.py (policy versions rebuilt), recorded.py cursor.py ledger.py verify.py (re-deciding
and judging), history.py timeline.py entries.py sla.py report.py divergence.py (the outputs).
Shell: read.py (Kafka), app.py (files, exit code; ``dispatch audit replay``).
"""
