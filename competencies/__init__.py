"""The L2I competency framework (data under ``framework/``), mapping, evidence and proficiency.

No Flask here. The framework data is in ``framework/l2i.yaml``.
"""
