"""Stage 2: the SR network (ESRGAN's RRDBNet) with domain-distance aware training (Sec. 3.2).

``networks`` builds the networks, ``step`` is one iteration (Eq. 5-7, Table 2 switches),
``ema`` the averaged generator, ``validation`` the paper's metrics, ``trainer`` the run.
"""
