"""trainsim: stateful local simulators of the remote systems training providers integrate with."""

__version__ = "0.1.0"
