"""Quancheng 全程 common library: what every service shares."""
