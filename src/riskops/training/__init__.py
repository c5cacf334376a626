"""Training: read and check data, split by time, fit, evaluate, compare, report, register."""
