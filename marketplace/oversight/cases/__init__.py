"""Enforcement: cases (监管案件), credit and the blacklist (信用与黑名单), and random inspections
(双随机、一公开). Models live in ``models.py`` here and are imported by ``oversight/models.py``."""
