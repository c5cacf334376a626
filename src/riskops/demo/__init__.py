"""The end-to-end walk-through `riskops demo` runs on embedded defaults."""
