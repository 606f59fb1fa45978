"""Regulator dashboards: market concentration, prices against bands, fill rate, overdue work
and flags per rule, each table with a chart and CSV / Excel exports."""
