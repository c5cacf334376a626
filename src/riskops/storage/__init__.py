"""Database access. The only package that imports SQLAlchemy."""
