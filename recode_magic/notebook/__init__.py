"""The IPython/Jupyter face: ``%%recode``, its subcommands, the widget, renders, confirm boxes."""
