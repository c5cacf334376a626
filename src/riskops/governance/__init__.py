"""Governance: audit log, approvals and gates."""
