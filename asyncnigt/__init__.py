"""asyncnigt: exact, reproducible wall-clock emulation of asynchronous policy-gradient methods.

The package is layered (see ``docs/design.md``)::

    cli -> scenario -> runner -> sim (SimPy) -> rules / aggregation (pure numpy)
                                  |-> timing (durations, communication, closed forms)
                                  '-> problems (synthetic, LQR, gymnasium policy gradients)
"""

__version__ = "0.1.0"
