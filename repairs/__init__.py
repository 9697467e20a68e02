"""Repair records (battery swap, motor, controller, speed limiter) and shop qualification checks."""
