"""Training jobs as units of work: a run directory's completion marker and W&B run id,
resuming an interrupted run, and checking the command line's added keys. Used by the entry
scripts and the callbacks; imports nothing of ferlens but ``user_errors``."""
