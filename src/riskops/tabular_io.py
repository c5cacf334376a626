"""Old home of ``read_table``; reading (and checking) a user's table lives in
``riskops.user_tables``."""

from riskops.user_tables import FORMATS, read_table

__all__ = ["FORMATS", "read_table"]
