"""Run mechanics: a run directory's completion marker and W&B run id, resuming an
interrupted run, ``explain=``, DDP under Hydra, the config's resolvers and its checks before
work starts, the console log format, the end summary, the W&B logger. Used by the entry
scripts, the training job and the callbacks; imports only the layers below (``user_errors``,
``registry``, and ``networks`` for the input-size resolver)."""
