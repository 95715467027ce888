"""A stand-in for Meta's side: the Cloud API's Graph endpoints, signed webhooks, a phone page."""
from wasb.simulator.app import create_app, run
from wasb.simulator.simulator import SimSettings, Simulator

__all__ = ["SimSettings", "Simulator", "create_app", "run"]
