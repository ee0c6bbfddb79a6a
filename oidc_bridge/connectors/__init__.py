"""Upstream identity sources."""
