"""Old home of the hash-chain maths; they live in ``riskops.audit_chain`` (below storage)."""

from riskops.audit_chain import (
    GENESIS,
    AuditEntry,
    ChainProblem,
    canonical_json,
    entry_hash,
    find_chain_problem,
)

__all__ = ["GENESIS", "AuditEntry", "ChainProblem", "canonical_json", "entry_hash",
           "find_chain_problem"]
