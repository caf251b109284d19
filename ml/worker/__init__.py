"""The child side of a job: the context a job receives, the kinds it can run, the entry point.

Nothing here imports the backend: a job runs the same in a local child process, on a
SLURM node that cannot reach the database, or in a notebook. It talks to its supervisor
through two files in the job folder: events appended as JSON lines, and a stop file.
"""
