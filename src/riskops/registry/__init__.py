"""Model registry: artifact store, signed manifest, integrity checks, loading."""
