"""The worker's supervising process: claims jobs, runs each in a child, relays its events.

`sitslab worker` runs :class:`backend.worker.supervisor.Supervisor` with a backend that
starts jobs as local child processes (``local``) or SLURM jobs (``slurm``).
"""
