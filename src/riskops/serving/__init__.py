"""The scoring server: governed model serving over HTTP."""
