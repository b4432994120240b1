"""Executing a plan: state machine, scheduler, executors, run store (pure Python, no Qt)."""
