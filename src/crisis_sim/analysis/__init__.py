"""Analyses downstream of the model: queueing validation (and, later, sensitivity and calibration)."""
